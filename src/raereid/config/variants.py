"""The rows of the paper's Table IV as switches of one pipeline, not separate code paths.

`VARIANTS` is a registry: `VARIANTS.register(name)(Variant(...))` adds a row made of existing switches; help
texts and docstrings list the registered names (`variant_names`), so a new row needs no other edit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from raereid.registry import Registry


@dataclass(frozen=True)
class Variant:
    name: str
    use_target: bool  # clustering + pseudo-label losses on the target (Eq. 5-7)
    feature_transfer: bool  # feature GAN (Eq. 8)
    pixel_transfer: bool  # decoder: reconstruction + pixel GAN (Eq. 11-17)
    fusion: bool  # recurrent pass + bilinear fusion (Eq. 18-23); descriptor of Algorithm 2
    # reconstruction losses (Eq. 12, 15) without the pixel GAN; None: as pixel_transfer
    reconstruction: bool | None = None

    @property
    def has_decoder(self) -> bool:
        return self.pixel_transfer or self.fusion

    @property
    def reconstructs(self) -> bool:
        """Whether Dec is trained to reconstruct its input (pixel transfer, or the pre-pixel-transfer row's fusion)."""
        return self.pixel_transfer if self.reconstruction is None else self.reconstruction


VARIANTS: Registry[Variant] = Registry("variant", "train.variant")
for _variant in (
    Variant("direct", use_target=False, feature_transfer=False, pixel_transfer=False, fusion=False),
    Variant("baseline", use_target=True, feature_transfer=False, pixel_transfer=False, fusion=False),
    Variant("ft", use_target=True, feature_transfer=True, pixel_transfer=False, fusion=False),
    Variant("pt", use_target=True, feature_transfer=False, pixel_transfer=True, fusion=False),
    Variant("ft+pt", use_target=True, feature_transfer=True, pixel_transfer=True, fusion=False),
    Variant("full", use_target=True, feature_transfer=True, pixel_transfer=True, fusion=True),
    # Table IV's "baseline + FT + P^T + F": the source is translated into the target's style beforehand
    # (raereid translate); no pixel GAN, the decoder only reconstructs, for the fusion's recurrent pass.
    Variant("ft+prept+f", use_target=True, feature_transfer=True, pixel_transfer=False, fusion=True,
            reconstruction=True),
):
    VARIANTS.register(_variant.name)(_variant)


def get_variant(name: str) -> Variant:
    """The registered variant called `name` (any case), or a ConfigError listing them."""
    return VARIANTS.get(name.lower())


def run_variant(name: str, source_decoder: bool = False) -> Variant:
    """The variant a run trains: a source-only one (direct) with `source_decoder` (source.decoder) also trains Dec and
    Dis_pix on the source, so that the adaptation stage of a variant with a decoder starts from a trained one."""
    variant = get_variant(name)
    if source_decoder and not variant.use_target and not variant.has_decoder:
        return replace(variant, pixel_transfer=True)
    return variant


def variant_names(has_decoder: bool | None = None) -> str:
    """The registered variants in table order ("direct, baseline, ..."); only those with (or without) a decoder if
    asked."""
    return ", ".join(n for n in VARIANTS if has_decoder is None or VARIANTS.get(n).has_decoder == has_decoder)
