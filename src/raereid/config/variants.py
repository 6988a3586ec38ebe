"""The rows of the paper's Table IV as switches of one pipeline, not separate code paths."""

from __future__ import annotations

from dataclasses import dataclass

from raereid.errors import ConfigError


@dataclass(frozen=True)
class Variant:
    name: str
    use_target: bool  # clustering + pseudo-label losses on the target (Eq. 5-7)
    feature_transfer: bool  # feature GAN (Eq. 8)
    pixel_transfer: bool  # decoder: reconstruction + pixel GAN (Eq. 11-17)
    fusion: bool  # recurrent pass + bilinear fusion (Eq. 18-23); descriptor of Algorithm 2
    reconstruction: bool | None = None  # reconstruction losses (Eq. 12, 15) without the pixel GAN; None: as pixel_transfer

    @property
    def has_decoder(self) -> bool:
        return self.pixel_transfer or self.fusion

    @property
    def reconstructs(self) -> bool:
        """Whether Dec is trained to reconstruct its input (pixel transfer, or the pre-pixel-transfer row's fusion)."""
        return self.pixel_transfer if self.reconstruction is None else self.reconstruction


VARIANTS = {
    "direct": Variant("direct", use_target=False, feature_transfer=False, pixel_transfer=False, fusion=False),
    "baseline": Variant("baseline", use_target=True, feature_transfer=False, pixel_transfer=False, fusion=False),
    "ft": Variant("ft", use_target=True, feature_transfer=True, pixel_transfer=False, fusion=False),
    "pt": Variant("pt", use_target=True, feature_transfer=False, pixel_transfer=True, fusion=False),
    "ft+pt": Variant("ft+pt", use_target=True, feature_transfer=True, pixel_transfer=True, fusion=False),
    "full": Variant("full", use_target=True, feature_transfer=True, pixel_transfer=True, fusion=True),
    # Table IV's "baseline + FT + P^T + F": the source is translated into the target's style beforehand
    # (raereid translate); no pixel GAN, the decoder only reconstructs, for the fusion's recurrent pass.
    "ft+prept+f": Variant("ft+prept+f", use_target=True, feature_transfer=True, pixel_transfer=False, fusion=True, reconstruction=True),
}


def get_variant(name: str) -> Variant:
    """The variant called `name` (direct, baseline, ft, pt, ft+pt, full)."""
    try:
        return VARIANTS[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown variant {name!r}", fix=f"train.variant must be one of {', '.join(VARIANTS)}") from None
