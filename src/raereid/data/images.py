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
    """Decode an image fully and convert it to RGB; a file Pillow refuses, for any reason it gives (corrupt,
    truncated, not an image, a decompression bomb, a format it cannot decode), raises DatasetError naming it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on corrupt EXIF, truncated reads, large images
            with Image.open(path) as img:
                img.load()
                return as_rgb(img)
    except MemoryError:
        raise DatasetError("cannot decode image (it does not fit in memory)", where=path, fix=_FIX) from None
    except Exception as exc:  # noqa: BLE001 - Pillow's plugins raise OSError, SyntaxError, ValueError, struct.error...
        raise DatasetError(f"cannot decode image ({decode_reason(exc, path)})", where=path, fix=_FIX) from None


def decode_reason(exc: Exception, path: str | Path) -> str:
    """Pillow's reason for refusing `path`, on one line and without the path it already names."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for shown in {repr(str(path)), repr(Path(path).name), str(path)}:
        text = text.replace(f" {shown}", "")
    if isinstance(exc, Image.DecompressionBombError):
        text = f"{text} (Image.MAX_IMAGE_PIXELS)"
    elif not isinstance(exc, (OSError, UnidentifiedImageError)):
        text = f"{type(exc).__name__}: {text}"
    return text


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
        return path, exc.what.removeprefix("cannot decode image (").removesuffix(")")
    return None


def undecodable(paths: list[str], workers: int = 2) -> list[tuple[str, str]]:
    """Decode every image once; (path, reason) of each that does not decode, in the order of `paths`, each once."""
    unique = list(dict.fromkeys(paths))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [result for result in pool.map(_check, unique, chunksize=64) if result is not None]


def undecodable_error(bad: list[tuple[str, str]], total: int, shown: int | None = 5,
                      listed_in: Path | None = None) -> DatasetError:
    """One error for the images that do not decode: the count, and the first `shown` (None: all) with their reasons;
    `listed_in` names a file holding the whole list."""
    lines = bad if shown is None else bad[:shown]
    head = "for example" if len(lines) < len(bad) else ("it is" if len(bad) == 1 else "they are")
    more = f"\n    ... and {len(bad) - len(lines)} more" if len(lines) < len(bad) else ""
    more += f"\n  every one is listed in {listed_in}" if listed_in else ""
    text = "\n    ".join(f"{path} ({what})" for path, what in lines)
    return DatasetError(f"{len(bad)} of {total} image(s) cannot be decoded; {head}:\n    {text}{more}",
                        where=Path(bad[0][0]).parent, fix=_FIX)


def verify_images(paths: list[str], workers: int = 2) -> None:
    """Decode every image once; raise one error with the count and the first few that do not decode."""
    bad = undecodable(paths, workers)
    if bad:
        raise undecodable_error(bad, len(set(paths)))
