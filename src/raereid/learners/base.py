"""What every pseudo-label learner implements: how labels (source ids, target pseudo-labels) become
the identity terms of a training step, and what it rebuilds after each clustering.

The step (`adapt/objective.py`) calls `branch_terms` once per trained descriptor (a `Branch`: the
encoder's, and the fused one for `full`), at the place where the paper's Eq. 3-7 / 22-23 sit; the
relabelling hook calls `on_target_features` with every extraction of the target's descriptors and then,
for a learner that `uses_clusters`, `on_clustering` with the new pseudo-labels (a learner that does not,
such as MMCL, gets every target image as a class of its own and no clustering is run); the trainer calls
`update` after the optimiser step (momentum updates of memories). A learner's trainable modules (the classifier
learner's target classifiers) are in `modules()`: the optimiser's target group trains them and DDP
averages their gradients. Everything a learner keeps between steps is in `state()` and
`modules()`, so a resumed run continues exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from raereid import losses
from raereid.config.schema import Config
from raereid.models.rae import RAE

Gather = Callable[[torch.Tensor], torch.Tensor]
Term = tuple[str, torch.Tensor, float]  # (logged name, value, weight in the total loss)

# The descriptor kind (inference/features.py) each branch is trained on.
BRANCH_FEATURES = {"encoder": "encoder", "fused": "final"}


def _no_gather(x: torch.Tensor) -> torch.Tensor:
    return x


@dataclass
class Branch:
    """One descriptor the identity losses train; rows [:ns] are source images, the rest target ones."""

    name: str  # "encoder" (GAP(F)) or "fused" (GAP(P(F, F_x2s)))
    feat: torch.Tensor  # before the neck: the triplet loss's input
    embedded: torch.Tensor  # after the neck: classifiers, memories and the retrieval descriptor
    ns: int

    @property
    def prefix(self) -> str:
        """Prefix of the logged loss names ("" for the encoder, "fused_" for the fused branch)."""
        return "" if self.name == "encoder" else "fused_"


@dataclass
class Labels:
    """The labels of a step's batch: source ids, target pseudo-labels (None in a source-only step)."""

    ys: torch.Tensor
    yt: torch.Tensor | None = None
    seeds_s: torch.Tensor | None = None  # per-image seeds (dropout masks); None: the global RNG
    seeds_t: torch.Tensor | None = None
    index_t: torch.Tensor | None = None  # the target images' indices in the target training set
    gather: Gather = field(default=_no_gather)  # all processes' rows, in rank order (identity in one process)


@dataclass
class ClusterRound:
    """What a clustering produced: pseudo-labels (-1 = outlier) and the target descriptors clustered."""

    labels: np.ndarray
    features: dict[str, np.ndarray]  # "encoder" and, for fusion, "final": (N_target, D)
    source_features: Callable[[], dict[str, np.ndarray]]  # the source training images' descriptors, on demand
    source_labels: np.ndarray  # source training ids, relabelled 0..S-1


def triplet_term(name: str, feat: torch.Tensor, labels: torch.Tensor, cfg: Config, gather: Gather) -> Term:
    """Batch-hard triplet (Eq. 4, 7, 22, 23) over the rows of every process."""
    return name, losses.batch_hard_triplet(gather(feat), gather(labels), cfg.loss.margin), cfg.loss.lambda_tri


def source_weighted(terms: list[Term], cfg: Config) -> list[Term]:
    """Source identity terms with their weights scaled by `loss.lambda_source`."""
    return [(name, value, weight * cfg.loss.lambda_source) for name, value, weight in terms]


def centroids(features: np.ndarray, labels: np.ndarray, num_clusters: int) -> torch.Tensor:
    """Mean L2-normalised feature of every cluster (clusters x dim); label -1 is left out."""
    feats = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    sums = np.zeros((num_clusters, feats.shape[1]), dtype=np.float64)
    kept = labels >= 0
    np.add.at(sums, labels[kept], feats[kept])
    counts = np.bincount(labels[kept], minlength=num_clusters)[:, None]
    return torch.from_numpy((sums / np.maximum(counts, 1)).astype(np.float32))


class Learner:
    """Base class: a learner registered under `name` is built with (model, cfg, num_source_ids)."""

    name: ClassVar[str] = ""
    # False: the label generator is not run; every target image is a class of its own (`sampling_labels` then sees
    # 0..N-1) and `on_clustering` is never called.
    uses_clusters: ClassVar[bool] = True
    min_target_k: ClassVar[int] = 2  # least images of a target class per batch (the target triplet needs a positive)
    # The rows of the paper's Tables II / III a run of this learner stands for, by variant (the report names them).
    paper_rows: ClassVar[dict[str, str]] = {}

    def __init__(self, model: RAE, cfg: Config, num_source_ids: int):
        self.model, self.cfg, self.num_source_ids = model, cfg, num_source_ids
        self.trainable = nn.ModuleDict()

    @property
    def device(self) -> torch.device:
        """Where the model, and so the learner's tensors and modules, live."""
        return next(self.model.parameters()).device

    def modules(self) -> nn.ModuleDict:
        """The learner's trainable modules (empty for memory learners: memories are not trained by gradients)."""
        return self.trainable

    def load_modules(self, state: dict[str, torch.Tensor]) -> None:
        """Restore `modules().state_dict()` from a checkpoint (a learner whose modules change shape rebuilds them
        first)."""
        self.trainable.load_state_dict(state)

    @property
    def branches(self) -> tuple[str, ...]:
        """The descriptors trained with identity losses: the encoder's, and the fused one when the variant fuses."""
        return ("encoder", "fused") if self.model.fusion is not None else ("encoder",)

    def sampling_labels(self, pseudo: np.ndarray) -> np.ndarray:
        """Labels the target PK sampler draws from (and `Labels.yt` carries); -1 is never sampled."""
        return pseudo

    def on_target_features(self, features: dict[str, np.ndarray]) -> None:
        """The descriptors of every target training image ("encoder" and, with fusion, "final": N x D), at each
        extraction before clustering, identical on every process (e.g. to initialise a per-image memory)."""

    def on_clustering(self, round_: ClusterRound) -> bool:
        """Rebuild what depends on the pseudo-labels (classifiers, memories); True when `modules()` were replaced
        (then the optimiser's target group and the DDP wrappers are rebuilt)."""
        return False

    def branch_terms(self, branch: Branch, labels: Labels) -> list[Term]:
        """The identity terms of one branch for this batch, in the order they enter the total loss."""
        raise NotImplementedError

    @torch.no_grad()
    def update(self, embedded: dict[str, torch.Tensor], labels: Labels) -> None:
        """After the optimiser step: momentum updates from the batch's (detached) embeddings."""

    def state(self) -> dict[str, torch.Tensor]:
        """Tensors to checkpoint (memories); `modules()` and the model's weights are saved on their own."""
        return {}

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore `state()` from a checkpoint."""
