"""The report in a real browser: headless Chromium loads the page from disk without console errors, every
image loads, the screenshot is not blank, and the inline JavaScript sorts the table and filters queries.

Skipped, with the reason, when no Chromium is installed (`.ci/run` installs Debian's `chromium` when it can).
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from raereid.report.browser import check_page, find_browser

pytestmark = pytest.mark.skipif(
    find_browser() is None,
    reason="no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it when run as root with apt)",
)

SORT_BY_MAP = """(() => {
  const th = Array.from(document.querySelectorAll('#results-table th')).find(h => h.textContent === 'mAP');
  th.click();
  return Array.from(document.querySelectorAll('#results-table tbody tr')).map(r => r.cells[0].textContent.trim());
})()"""
FILTER = """(() => {
  const box = document.getElementById('filter-pid');
  box.value = '%s';
  box.dispatchEvent(new Event('input'));
  const shown = Array.from(document.querySelectorAll('.query')).filter(q => !q.hidden);
  return [shown.map(q => q.getAttribute('data-pid')), document.getElementById('filter-count').textContent];
})()"""


def test_report_renders_in_chromium(report_runs, report_page) -> None:
    blocks = report_page.read_text().split('class="query" data-pid="')[1:]
    pids = [b.split('"', 1)[0] for b in blocks]
    check = check_page(report_page, max_height=6000, evaluate={"sorted": SORT_BY_MAP, "filtered": FILTER % pids[0]})
    assert check.errors == []
    assert check.image_count > 50 and check.broken_images == []
    shot = Image.open(io.BytesIO(check.screenshot)).convert("RGB")
    assert shot.width == 1280 and shot.height > 2000
    colours = shot.resize((shot.width // 4, shot.height // 4)).getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 1000  # text, curves and photos, not one flat colour
    scores = {run.name: json.loads((run / "metrics.json").read_text())["mAP"] for run in (report_runs.direct,
                                                                                          report_runs.full)}
    ordered = [scores[name] for name in check.values["sorted"]]
    assert sorted(check.values["sorted"]) == sorted(scores) and ordered == sorted(ordered, reverse=True)  # best first
    shown, count = check.values["filtered"]
    assert shown and set(shown) == {pids[0]} and count == f"{len(shown)} of {len(pids)} queries shown"
