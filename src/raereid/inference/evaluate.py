"""Evaluate a model: retrieval on a dataset's query/gallery split (Market-1501 protocol, cosine distance), and the
quality of its reconstructions Dec(Enc(I)) (PSNR, SSIM)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from raereid.config.schema import Config
from raereid.data.loaders import ImageDataset, test_loader
from raereid.data.records import ImageRecord, ReidDataset
from raereid.data.transforms import test_transform
from raereid.engine.runtime import Runtime
from raereid.evaluation import evaluate_features, evaluate_rank
from raereid.inference.features import extract, l2_normalize
from raereid.models.rae import RAE


def metrics_in_percent(result: dict) -> dict[str, float]:
    """mAP, mINP and rank-1/5/10 in percent (0-100) from an evaluator result."""
    cmc = np.asarray(result["cmc"])
    pick = lambda r: float(cmc[min(r, len(cmc)) - 1]) * 100.0  # noqa: E731
    return {
        "mAP": float(result["mAP"]) * 100.0,
        "rank1": pick(1),
        "rank5": pick(5),
        "rank10": pick(10),
        "mINP": float(result["mINP"]) * 100.0,
    }


def evaluate_model(
    model: RAE, dataset: ReidDataset, cfg: Config, runtime: Runtime, kind: str = "final", use_rerank: bool = False
) -> dict[str, float]:
    """Extract query and gallery descriptors and score them; every process gets the same metrics."""
    feats = extract(
        model,
        dataset.query + dataset.gallery,
        cfg.data.height,
        cfg.data.width,
        runtime,
        kinds=(kind,),
        batch_size=cfg.data.test_batch_size,
        workers=min(cfg.data.workers, 2),
        flip=cfg.model.flip_test,
        amp=cfg.train.amp,
        desc=f"evaluate {dataset.name}",
        cache=cfg.data.cache_images,
    )[kind]
    feats = l2_normalize(feats)
    nq = len(dataset.query)
    q, g = feats[:nq], feats[nq:]
    q_pids = np.array([r.pid for r in dataset.query])
    g_pids = np.array([r.pid for r in dataset.gallery])
    q_cams = np.array([r.camid for r in dataset.query])
    g_cams = np.array([r.camid for r in dataset.gallery])
    metrics = None
    if runtime.is_main:
        if use_rerank:
            from raereid.evaluation import rerank

            result = evaluate_rank(rerank(q, g), q_pids, g_pids, q_cams, g_cams)
        else:
            result = evaluate_features(q, g, q_pids, g_pids, q_cams, g_cams, metric="cosine")
        metrics = metrics_in_percent(result)
    return runtime.broadcast(metrics)


def spread(records: Sequence[ImageRecord], n: int) -> list[ImageRecord]:
    """`n` records evenly spread over `records` (all of them when there are fewer): a fixed, identity-balanced
    sample."""
    if n >= len(records):
        return list(records)
    return [records[i * len(records) // n] for i in range(n)]


@torch.no_grad()
def reconstruction_quality(model: RAE, records: Sequence[ImageRecord], cfg: Config,
                           runtime: Runtime) -> dict[str, float]:
    """PSNR (dB) and SSIM of Dec(Enc(I)) against I (at the decoder's size, both in [0, 1]), averaged over `records`,
    in eval mode as at inference (torchmetrics' implementations; SSIM's Gaussian window shrinks to fit small images)."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    assert model.decoder is not None, "this variant has no decoder"
    loader = test_loader(ImageDataset(records, test_transform(cfg.data.height, cfg.data.width),
                                      cache=(cfg.data.height, cfg.data.width) if cfg.data.cache_images else None),
                         cfg.data.test_batch_size, min(cfg.data.workers, 2), runtime.device)
    kernel = max(3, min(11, *model.reconstruction_size) // 2 * 2 - 1)  # odd and no larger than the image
    was_training = model.training
    model.eval()
    psnr, ssim = [], []
    try:
        for batch in loader:
            images = batch.image.to(runtime.device)
            recon = (model.reconstruct(model.encoder(images)).float().clamp(-1, 1) + 1) / 2
            real = (model.reconstruction_target(images).float().clamp(-1, 1) + 1) / 2
            psnr.append(peak_signal_noise_ratio(recon, real, data_range=1.0, reduction="none", dim=(1, 2, 3)))
            ssim.append(structural_similarity_index_measure(recon, real, data_range=1.0, kernel_size=kernel,
                                                            reduction="none"))
    finally:
        model.train(was_training)
    return {"psnr": float(torch.cat(psnr).mean()), "ssim": float(torch.cat(ssim).mean())}
