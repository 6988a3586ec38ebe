"""HTML pieces shared by the report page's sections: escaping, run anchors and colour swatches."""

from __future__ import annotations

import html

from raereid.report.runs import Run

e = html.escape


def run_anchor(run: Run) -> str:
    """The id of a run's card on the page (letters and digits of its name, the rest as dashes)."""
    return f"run-{''.join(c if c.isalnum() else '-' for c in run.name)}"


def swatch(colour: str) -> str:
    """A small square of the run's colour, as in the curves."""
    return f'<span class="swatch" style="background:{e(colour)}"></span>'
