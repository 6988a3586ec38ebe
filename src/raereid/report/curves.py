"""Training curves from the runs' TensorBoard scalars: one picture per group of tags, each run in its own colour.

Groups follow what training logs: loss/, lr/, cluster/ (clusters and outliers per reclustering;
ARI / NMI of the pseudo-labels against the true identities in a group of their own), eval/, and the label-free
signals (label_free/, label_free_snapshot/).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Series = dict[str, tuple[np.ndarray, np.ndarray]]  # tag -> (steps, values)

GROUPS = {
    "loss": "Losses",
    "lr": "Learning rates",
    "cluster": "Clustering: clusters and outliers at each reclustering",
    "labels": "Pseudo-label quality against the true identities (ARI, NMI; analysis only, never used in a loss)",
    "eval": "Evaluation on the target during training (percent)",
    "label_free": "Label-free signals of each clustering (no label read; docs/selection.md)",
    "label_free_snapshot": "Label-free score and signals of each snapshot and the final model (reference clustering)",
}
LABEL_TAGS = ("cluster/ari", "cluster/nmi")
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
SMOOTH_FROM = 20  # points in a curve from which a smoothed line is drawn over the raw one
COLUMNS = 4


@dataclass
class CurveFigure:
    """One picture of the report: the tags of a group, drawn for the runs that logged them."""

    key: str
    title: str
    file: Path
    tags: list[str]
    runs: list[str]


def read_scalars(folder: Path) -> Series:
    """Every scalar of a TensorBoard log folder as tag -> (steps, values); empty when there is no log."""
    if not folder.is_dir() or not any(folder.glob("events.out.tfevents.*")):
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    series = {}
    for tag in events.Tags()["scalars"]:
        points = events.Scalars(tag)
        series[tag] = (np.array([p.step for p in points]), np.array([p.value for p in points], dtype=np.float64))
    return series


def group_of(tag: str) -> str:
    """The picture a tag is drawn in: its prefix, except ARI / NMI which get their own."""
    return "labels" if tag in LABEL_TAGS else tag.split("/", 1)[0]


def run_colours(names: list[str]) -> dict[str, str]:
    """A colour per run, the same in every picture and in the page."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def smooth(values: np.ndarray, weight: float = 0.8) -> np.ndarray:
    """Exponential moving average with TensorBoard's start-up correction, to read a trend through noisy losses."""
    out, last = np.empty_like(values), 0.0
    for i, value in enumerate(values):
        last = weight * last + (1 - weight) * value
        out[i] = last / (1 - weight ** (i + 1))
    return out


def draw_group(tags: list[str], scalars: dict[str, Series], colours: dict[str, str], out: Path) -> Path:
    """One PNG, a panel per tag with a line per run that logged it (raw and smoothed when long); the page titles it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    cols = min(COLUMNS, len(tags))
    rows = math.ceil(len(tags) / cols)
    figure = Figure(figsize=(3.2 * cols, 2.2 * rows + 0.6), dpi=100)
    FigureCanvasAgg(figure)
    for i, tag in enumerate(tags):
        ax = figure.add_subplot(rows, cols, i + 1)
        for run, series in scalars.items():
            if tag not in series:
                continue
            steps, values = series[tag]
            if len(values) >= SMOOTH_FROM:
                ax.plot(steps, values, color=colours[run], alpha=0.25, linewidth=0.8)
                ax.plot(steps, smooth(values), color=colours[run], linewidth=1.4, label=run)
            else:
                ax.plot(steps, values, color=colours[run], linewidth=1.4, marker="o", markersize=3, label=run)
        ax.set_title(tag.split("/", 1)[-1], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if i >= len(tags) - cols:
            ax.set_xlabel("iteration", fontsize=8)
    runs = [run for run, series in scalars.items() if any(tag in series for tag in tags)]
    handles = [figure.axes[0].plot([], [], color=colours[run], linewidth=2)[0] for run in runs]
    figure.legend(handles, runs, loc="upper center", ncol=min(len(runs), 8), fontsize=9, frameon=False)
    width, height = figure.get_size_inches()  # fixed margins in inches: tight_layout doubles the drawing time
    figure.subplots_adjust(left=0.5 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.55 / height,
                           wspace=0.35, hspace=0.5)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    return out


def curve_figures(scalars: dict[str, Series], colours: dict[str, str], out_dir: Path) -> list[CurveFigure]:
    """A picture per group of logged tags (known groups first), written to `out_dir`.

    A tag no run logged twice is not a curve (eval/ of a run evaluated only at its end): the table shows it.
    """
    tags: dict[str, None] = {}  # every tag some run logged at least twice, once, in the order the runs logged them
    for series in scalars.values():
        tags.update(dict.fromkeys(tag for tag, (steps, _) in series.items() if len(steps) > 1))
    order = list(GROUPS) + sorted({group_of(t) for t in tags} - set(GROUPS))
    figures = []
    for key in order:
        members = [t for t in tags if group_of(t) == key]
        if not members:
            continue
        title = GROUPS.get(key, key)
        path = draw_group(members, scalars, colours, out_dir / f"{key}.png")
        runs = [run for run, series in scalars.items() if any(t in series for t in members)]
        figures.append(CurveFigure(key, title, path, members, runs))
    return figures
