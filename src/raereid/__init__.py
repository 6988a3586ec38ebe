"""raereid: unsupervised cross-dataset person re-identification with the Recurrent Auto-Encoder.

`raereid.FeatureExtractor(checkpoint)` describes images in memory (docs/api.md); it is imported on first
use, so `import raereid` stays light (no torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from raereid._version import __version__

if TYPE_CHECKING:
    from raereid.tools.feature_extractor import FeatureExtractor

__all__ = ["FeatureExtractor", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "FeatureExtractor":
        from raereid.tools.feature_extractor import FeatureExtractor

        return FeatureExtractor
    raise AttributeError(f"module 'raereid' has no attribute {name!r}")
