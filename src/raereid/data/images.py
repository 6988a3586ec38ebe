"""Reading images: any mode Pillow reads (grayscale, RGBA, CMYK, palette PNG) becomes RGB.

A file that does not decode is an error naming it, never a silent skip.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from raereid.errors import DatasetError

_FIX = "re-extract or re-download these images, or remove them (and their list-file rows) from the dataset"


def load_rgb(path: str | Path) -> Image.Image:
    """Decode an image fully and convert it to RGB; a corrupt or truncated file raises DatasetError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                if img.mode == "RGB":
                    return img.copy()
                if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
                    rgba = img.convert("RGBA")
                    background = Image.new("RGB", rgba.size, (0, 0, 0))
                    background.paste(rgba, mask=rgba.getchannel("A"))
                    return background
                return img.convert("RGB")
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise DatasetError(f"cannot decode image ({exc})", where=path, fix=_FIX) from None


def _check(path: str) -> tuple[str, str] | None:
    try:
        load_rgb(path)
    except DatasetError as exc:
        return path, exc.what
    return None


def verify_images(paths: list[str], workers: int = 2) -> None:
    """Decode every image once; raise one error with the count and the first few corrupt files."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        bad = [result for result in pool.map(_check, paths, chunksize=64) if result is not None]
    if bad:
        shown = "\n    ".join(f"{path} ({what})" for path, what in bad[:5])
        raise DatasetError(
            f"{len(bad)} of {len(paths)} image(s) cannot be decoded, for example:\n    {shown}",
            where=Path(bad[0][0]).parent,
            fix=_FIX,
        )
