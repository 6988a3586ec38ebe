"""A contact sheet of a generated benchmark: a few identities per domain, one column per camera.

It is read back from the written files, so it shows exactly what models will see; rows of the same
identity show the per-camera viewpoint and lighting, the blocks show the gap between domains.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from raereid.data.filenames import parse_dukemtmc, parse_market1501, parse_msmt17
from raereid.errors import RaeReidError
from raereid.synth.layouts import LAYOUTS
from raereid.synth.manifest import read_manifest

PARSERS = {"market1501": parse_market1501, "dukemtmcreid": parse_dukemtmc, "msmt17": parse_msmt17}
TILE_H, CELL_W, LABEL_W, HEADER_H = 128, 66, 130, 4


def _tile(path: Path) -> Image.Image:
    with Image.open(path) as img:
        img = img.convert("RGB")
        return img.resize((max(1, round(img.width * TILE_H / img.height)), TILE_H), Image.BICUBIC)


def _rows_for(out: Path, name: str, per_domain: int) -> list[tuple[str, list[tuple[int, Path]]]]:
    """(label, [(camera, image)]) rows: the training identities seen by the most cameras, and for
    Market-1501 one row of gallery junk (pid -1) and distractors (pid 0)."""
    layout, parse = LAYOUTS[name], PARSERS[name]
    by_pid: dict[int, dict[int, Path]] = defaultdict(dict)
    for path in sorted((out / layout.folder / layout.split_dirs[0]).rglob("*.jpg")):
        parsed = parse(path.name)
        if parsed is not None:
            by_pid[parsed[0]].setdefault(parsed[1] + 1, path)
    chosen = sorted(by_pid, key=lambda pid: (-len(by_pid[pid]), pid))[:per_domain]
    rows = [(f"{name}\ntrain pid {pid}", sorted(by_pid[pid].items())) for pid in chosen]
    if layout.junk or layout.distractors:
        extra: list[tuple[int, Path]] = []
        for path in sorted((out / layout.folder / layout.split_dirs[2]).iterdir()):
            parsed = parse(path.name)
            shown = sum(p.name.startswith(path.name[:2]) for _, p in extra)
            if parsed is not None and parsed[0] in (-1, 0) and shown < 4:
                extra.append((parsed[1] + 1, path))
        rows.append((f"{name}\ngallery junk (-1)\n+ distractors (0)", extra))
    return rows


def contact_sheet(out: str | Path, file: str | Path, per_domain: int = 4) -> Path:
    """Write a PNG grid of sample images of every domain in the synth output `out` to `file`."""
    out, file = Path(out), Path(file)
    manifest = read_manifest(out)
    if manifest is None:
        raise RaeReidError("not a complete raereid synth output", where=out, fix="run raereid synth --out DIR first")
    rows = [row for name in manifest["domains"] if name in PARSERS for row in _rows_for(out, name, per_domain)]
    columns = max(len(cells) for _, cells in rows)
    sheet = Image.new("RGB", (LABEL_W + columns * CELL_W, HEADER_H + len(rows) * (TILE_H + 4)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for r, (label, cells) in enumerate(rows):
        y = HEADER_H + r * (TILE_H + 4)
        draw.multiline_text((4, y + 4), label, fill=(0, 0, 0), font=font)
        for c, (camera, path) in enumerate(cells):
            tile = _tile(path)
            x = LABEL_W + c * CELL_W + max(0, (CELL_W - tile.width) // 2)
            sheet.paste(tile.crop((0, 0, min(tile.width, CELL_W - 2), TILE_H)), (x, y))
            draw.rectangle([x, y + TILE_H - 12, x + 6 + 6 * len(str(camera)), y + TILE_H], fill=(0, 0, 0))
            draw.text((x + 2, y + TILE_H - 12), f"c{camera}", fill=(255, 255, 255), font=font)
    file.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(file, "PNG")
    return file
