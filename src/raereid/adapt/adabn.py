"""AdaBN (Li et al. 2016): re-estimate batch-norm statistics on the target's images before adapting.

A model trained on the source normalises target images with source statistics; replacing them by
the target's own makes its first target descriptors (and so the first pseudo-labels) better. With
domain-specific batch norm only the target copies are re-estimated; the source copies keep theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from raereid.data.loaders import ImageDataset, test_loader
from raereid.data.records import ImageRecord
from raereid.data.transforms import test_transform
from raereid.models.dsbn import DomainSpecificBN
from raereid.models.rae import RAE


def target_norms(model: nn.Module) -> list[_BatchNorm]:
    """The batch norms that normalise target images: all of them, except the source copies of DSBN layers."""
    source_copies = {id(m.source) for m in model.modules() if isinstance(m, DomainSpecificBN)}
    return [m for m in model.modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats and id(m) not in source_copies]


@torch.no_grad()
def adapt_batch_norm(
    model: RAE, records: Sequence[ImageRecord], height: int, width: int, device: torch.device, batch_size: int = 128,
    workers: int = 0,
) -> int:
    """Replace the target batch norms' running statistics by their average over `records` (test transform,
    Algorithm 2's forward pass in training mode, no gradients); returns the number of layers re-estimated.

    In a distributed run every process goes over all of `records`, so all end with the same statistics
    (up to the n/(n-1) variance correction, which global batch norm computes over all processes)."""
    norms = target_norms(model)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
    loader = test_loader(ImageDataset(records, test_transform(height, width)), batch_size, workers, device)
    was_training = model.training
    model.train()
    try:
        for images, *_ in loader:
            if images.shape[0] < 2:  # batch statistics need two images (a last batch of one is skipped)
                continue
            model.descriptors(images.to(device, non_blocking=True))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)
    return len(norms)
