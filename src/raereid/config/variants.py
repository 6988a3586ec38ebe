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

    @property
    def has_decoder(self) -> bool:
        return self.pixel_transfer or self.fusion


VARIANTS = {
    "direct": Variant("direct", use_target=False, feature_transfer=False, pixel_transfer=False, fusion=False),
    "baseline": Variant("baseline", use_target=True, feature_transfer=False, pixel_transfer=False, fusion=False),
    "ft": Variant("ft", use_target=True, feature_transfer=True, pixel_transfer=False, fusion=False),
    "pt": Variant("pt", use_target=True, feature_transfer=False, pixel_transfer=True, fusion=False),
    "ft+pt": Variant("ft+pt", use_target=True, feature_transfer=True, pixel_transfer=True, fusion=False),
    "full": Variant("full", use_target=True, feature_transfer=True, pixel_transfer=True, fusion=True),
}


def get_variant(name: str) -> Variant:
    """The variant called `name` (direct, baseline, ft, pt, ft+pt, full)."""
    try:
        return VARIANTS[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown variant {name!r}", fix=f"train.variant must be one of {', '.join(VARIANTS)}") from None
