"""The RAE network of one variant: Enc, Dec, P and the source identity heads, plus its two discriminators.

Target classifiers belong to the classifier learner (learners/classifier.py), which rebuilds them at each clustering.

`RAE.descriptor` is Algorithm 2: F = Enc(I); I_t2s = Dec(F); F_t2s = Enc(I_t2s);
descriptor = pool(P(F, F_t2s)) for variants with fusion, pool(F) otherwise: global average pooling
(GAP, the paper's) unless `model.pooling` says max or GeM (`models/pooling.py`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from raereid.config.schema import ModelConfig
from raereid.config.variants import Variant
from raereid.errors import ConfigError
from raereid.models.decoder import Decoder
from raereid.models.discriminator import Discriminator
from raereid.models.dsbn import convert_dsbn
from raereid.models.encoder import Encoder
from raereid.models.fusion import BilinearFusion
from raereid.models.heads import Classifier
from raereid.models.pooling import fused_pooling, make_pooling
from raereid.models.recurrent_bn import add_recurrent_stats, recurrent_bn_context
from raereid.pixels import from_unit_range, to_unit_range

# Distinct dropout streams per head, so one image's seed gives different masks in each classifier
# ("target" and "fused_target" are the classifier learner's heads).
SALTS = {"source": 0x5EED0001, "target": 0x5EED0002, "fused_source": 0x5EED0003, "fused_target": 0x5EED0004}


def _neck(kind: str, dim: int) -> nn.Module:
    """Between the pooled feature (triplet loss) and the classifiers / retrieval descriptor.

    "none" is the paper's network; "bn" is the batch-norm neck of Luo et al. (Bag of Tricks, bias
    frozen), which lets cross-entropy and triplet losses agree when training from random weights.
    """
    if kind == "none":
        return nn.Identity()
    if kind == "bn":
        bn = nn.BatchNorm1d(dim)
        bn.bias.requires_grad_(False)
        return bn
    raise ConfigError(f"unknown model.neck {kind!r}", fix="use none (the paper's) or bn")


class RAE(nn.Module):
    def __init__(self, cfg: ModelConfig, variant: Variant, num_source_ids: int, input_size: tuple[int, int]):
        super().__init__()
        self.variant = variant
        self.input_size = tuple(input_size)
        self.recurrent_bn = cfg.recurrent_bn
        self.encoder = Encoder(cfg.backbone, cfg.pretrained, cfg.last_stride)
        channels = self.encoder.out_channels
        self.map_size = self.encoder.map_size(self.input_size)
        self.pooling = make_pooling(cfg.pooling)
        self.neck = _neck(cfg.neck, channels)
        self.source_head = Classifier(channels, num_source_ids, cfg.dropout, salt=SALTS["source"])
        self.decoder = Decoder(channels, tuple(cfg.decoder_channels)) if variant.has_decoder else None
        self.fusion = (BilinearFusion(channels, cfg.fusion_dim, cfg.fusion_out, cfg.fusion_power_norm,
                                      cfg.fusion_l2_norm, fused_pooling(cfg.pooling)) if variant.fusion else None)
        if self.fusion is not None:
            self.fused_neck = _neck(cfg.neck, cfg.fusion_out)
            self.fused_source_head = Classifier(cfg.fusion_out, num_source_ids, cfg.dropout, salt=SALTS["fused_source"])
        if cfg.dsbn and variant.use_target:  # source-only variants have no target statistics to keep apart
            convert_dsbn(self.encoder)
            self.neck = convert_dsbn(self.neck)
            if self.fusion is not None:
                self.fused_neck = convert_dsbn(self.fused_neck)
        if self.fusion is not None and self.recurrent_bn == "own":
            add_recurrent_stats(self.encoder)

    @property
    def reconstruction_size(self) -> tuple[int, int]:
        """Decoder output size: 8x the feature map (three x2 layers)."""
        return self.map_size[0] * 8, self.map_size[1] * 8

    def pool(self, fmap: torch.Tensor) -> torch.Tensor:
        """The encoder's descriptor (pool5): `model.pooling` of the feature map (average by default)."""
        return self.pooling(fmap)

    def reconstruct(self, fmap: torch.Tensor) -> torch.Tensor:
        """I_hat = Dec(F), in [-1, 1] at `reconstruction_size`."""
        assert self.decoder is not None, "this variant has no decoder"
        return self.decoder(fmap)

    def reconstruction_target(self, images: torch.Tensor) -> torch.Tensor:
        """The input images in the decoder's range and size, what reconstructions are compared with."""
        return F.interpolate(to_unit_range(images), size=self.reconstruction_size, mode="area")

    def recurrent(self, reconstruction: torch.Tensor) -> torch.Tensor:
        """F_x2s = Enc(I_x2s): the reconstruction, brought back to input size and normalisation, re-encoded.

        Its batch norms follow `model.recurrent_bn`: `running` normalises reconstructions with the encoder's running
        statistics (real images'), in training as at inference; `own` with their batch's statistics in training,
        accumulated in statistics of their own that inference uses; `batch` with their batch's statistics in training
        but real images' at inference (the two differ), without moving them; `shared` like batch, moving them."""
        upsampled = from_unit_range(F.interpolate(reconstruction, size=self.input_size, mode="bilinear",
                                                  align_corners=False))
        with recurrent_bn_context(self.encoder, self.recurrent_bn):
            return self.encoder(upsampled)

    def fused(self, fmap: torch.Tensor, recurrent_map: torch.Tensor) -> torch.Tensor:
        assert self.fusion is not None, "this variant has no fusion"
        return self.fusion(fmap, recurrent_map)

    @torch.no_grad()
    def descriptors(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Inference descriptors: `encoder` = pool(Enc(I)); `final` = Algorithm 2's (fused when the variant fuses)."""
        fmap = self.encoder(images)
        out = {"encoder": self.neck(self.pool(fmap))}
        if self.fusion is not None:
            out["final"] = self.fused_neck(self.fused(fmap, self.recurrent(self.reconstruct(fmap))))
        else:
            out["final"] = out["encoder"]
        return out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Algorithm 2: the final descriptor of each image (what `raereid export` traces)."""
        fmap = self.encoder(images)
        if self.fusion is None:
            return self.neck(self.pool(fmap))
        return self.fused_neck(self.fused(fmap, self.recurrent(self.reconstruct(fmap))))


class Discriminators(nn.Module):
    """Dis_feat on encoder maps (feature transfer) and Dis_pix on images (pixel transfer), separate weights."""

    def __init__(self, model: RAE, channels: tuple[int, int, int] = (64, 128, 256)):
        super().__init__()
        variant = model.variant
        self.feature = (
            Discriminator(model.encoder.out_channels, model.map_size, channels) if variant.feature_transfer else None
        )
        self.pixel = Discriminator(3, model.reconstruction_size, channels) if variant.pixel_transfer else None

    def any(self) -> bool:
        return self.feature is not None or self.pixel is not None
