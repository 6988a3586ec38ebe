"""Picture sheets: for each named group of images, a row of originals above a row of what a network made of them
(reconstructions Dec(Enc(I)), translations), in one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PAD = 4
LABEL_W = 110


def reconstruction_sheet(rows: dict[str, tuple[list[np.ndarray], list[np.ndarray]]], out: str | Path,
                         captions: tuple[str, str] = ("images", "Dec(Enc(I))")) -> Path:
    """One PNG: for each named group, a row of originals above a row of their reconstructions (or translations)."""
    groups = list(rows.items())
    h, w = groups[0][1][0][0].shape[:2]
    cols = max(len(originals) for _, (originals, _) in groups)
    sheet = Image.new("RGB", (LABEL_W + cols * (w + PAD) + PAD, len(groups) * 2 * (h + PAD) + PAD), "white")
    draw = ImageDraw.Draw(sheet)
    y = PAD
    for name, (originals, recons) in groups:
        for label, images in ((f"{name}\n{captions[0]}", originals), (f"{name}\n{captions[1]}", recons)):
            draw.multiline_text((PAD, y + h // 2 - 12), label, fill="black")
            for c, img in enumerate(images):
                sheet.paste(Image.fromarray(img), (LABEL_W + c * (w + PAD), y))
            y += h + PAD
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
