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
                return as_rgb(img)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise DatasetError(f"cannot decode image ({exc})", where=path, fix=_FIX) from None


def as_rgb(img: Image.Image) -> Image.Image:
    """A copy of a loaded image in RGB; transparent pixels (RGBA, LA, palette with transparency) become black."""
    if img.mode == "RGB":
        return img.copy()
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (0, 0, 0))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


_RESIZED: dict[tuple[str, int, int], Image.Image] = {}


def load_resized(path: str | Path, size: tuple[int, int]) -> Image.Image:
    """`load_rgb` resized to (height, width) as the transforms resize (bicubic), kept in this process's memory:
    later calls cost nothing, and the transforms' own resize of an image already at size is a copy.
    For small datasets trained with data.workers=0 (the CPU preset); real datasets need gigabytes."""
    key = (str(path), int(size[0]), int(size[1]))
    image = _RESIZED.get(key)
    if image is None:
        image = _RESIZED[key] = load_rgb(path).resize((key[2], key[1]), Image.BICUBIC)
    return image


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
