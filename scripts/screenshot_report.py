"""Screenshot a report in headless Chromium, after checking it: no console errors, every image loaded.

    python scripts/screenshot_report.py demo_output/report docs/images/demo-report.png

Writes the top `--max-height` CSS pixels of the page at `--width` as a 256-colour PNG (small enough for
docs/). Exits 1, printing what went wrong, if the page has console errors or images that did not load.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

from raereid.report.browser import check_page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a report folder (holding index.html) or the page itself")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in CSS pixels (default: 1280)")
    parser.add_argument("--max-height", type=int, default=4200,
                        help="cut the page at this height (default: 4200; 0: whole page)")
    args = parser.parse_args()
    page = args.report / "index.html" if args.report.is_dir() else args.report
    check = check_page(page, width=args.width, max_height=args.max_height or None)
    for problem in check.errors + [f"image not loaded: {src}" for src in check.broken_images]:
        print(problem, file=sys.stderr)
    if check.errors or check.broken_images:
        return 1
    shot = Image.open(io.BytesIO(check.screenshot)).convert("RGB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shot.quantize(256, method=Image.Quantize.FASTOCTREE).save(args.out, optimize=True)
    print(f"{args.out} ({shot.width}x{shot.height}, {check.image_count} images loaded, no console errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
