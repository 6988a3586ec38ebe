"""An experiment's markdown table from its run folders (metrics.json, train.log), and its block in a docs file.

Per row and draw: mAP of each seed, their mean, spread (max - min) and sample standard deviation, the
mean rank-1, and the file's optional columns (means over the seeds). A missing value is "-", never an error.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from raereid.atomic import write_text
from raereid.engine.run_folder import METRICS
from raereid.errors import PathError
from raereid.experiments.plan import row_folder, translate_folder
from raereid.experiments.spec import LABEL_FREE_KEYS, LOG_KEYS, SPLIT_KEYS, TOP_KEYS, TableSpec
from raereid.experiments.state import record_at
from raereid.inference.metrics import MetricsRecord, UnreadableMetrics

DIGITS = {"psnr_source": 1, "psnr_target": 1, "ssim_source": 3, "ssim_target": 3, "ari_first": 2, "ari_last": 2,
          "label_free_score": 3}
ARI = re.compile(r"\bARI (-?[0-9.]+)")


def run_values(folder: Path, split: str) -> dict[str, float | None]:
    """mAP, rank1 and every optional column of one finished run; {} when its metrics.json is missing or unreadable."""
    try:
        record = MetricsRecord.read(folder / METRICS)
    except UnreadableMetrics:
        return {}
    scores = record.split(split)
    values = {key: scores.get(key) for key in ("mAP", "rank1", *SPLIT_KEYS)}
    values.update({key: record.value(key) for key in TOP_KEYS})
    log = folder / "train.log"
    aris = [float(a) for a in ARI.findall(log.read_text(encoding="utf-8", errors="replace"))] if log.is_file() else []
    values.update(zip(LOG_KEYS, (aris[0], aris[-1]) if aris else (None, None)))
    final = (record.label_free or {}).get("final") or {}
    values[LABEL_FREE_KEYS[0]] = final.get("score") if isinstance(final, dict) else None
    return values


@dataclass(frozen=True)
class Stats:
    """Mean, spread (max - min) and sample standard deviation of the values there are (None when undefined)."""

    n: int
    mean: float | None
    spread: float | None
    std: float | None


def stats(values: list[float | None]) -> Stats:
    """The `Stats` of the values that are not None."""
    have = [v for v in values if v is not None]
    many = len(have) > 1
    return Stats(len(have), statistics.fmean(have) if have else None,
                 max(have) - min(have) if many else None, statistics.stdev(have) if many else None)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(spec: TableSpec, draws: dict[str, str], seeds: list[int], out: Path, split: str,
           states: dict[Path, str]) -> str:
    """The markdown table with its caption and notes; `states` maps a run folder to done/failed/stale/missing."""
    head = ["row"]
    for draw in draws:
        head += [f"{draw}: mAP ({' / '.join(f's{s}' for s in seeds)})", f"{draw}: mean", f"{draw}: spread",
                 f"{draw}: std", f"{draw}: R1 mean", *(f"{draw}: {c} mean" for c in spec.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    partial = False
    for row in spec.rows:
        cells = [row.label]
        for draw in draws:
            folders = [row_folder(out, draw, row, seed, spec.layout) for seed in seeds]
            runs = [run_values(f, split) if states.get(f) == "done" else {} for f in folders]
            maps = [r.get("mAP") for r in runs]
            per_seed = [_fmt(v) if v is not None else {"failed": "failed", "stale": "stale"}.get(states.get(f), "-")
                        for v, f in zip(maps, folders)]
            m = stats(maps)
            short = "*" if 0 < m.n < len(seeds) else ""
            partial = partial or bool(short)
            cells += [" / ".join(per_seed), _fmt(m.mean) + short, _fmt(m.spread), _fmt(m.std),
                      _fmt(stats([r.get("rank1") for r in runs]).mean),
                      *(_fmt(stats([r.get(c) for r in runs]).mean, DIGITS.get(c, 1)) for c in spec.columns)]
        lines.append("| " + " | ".join(cells) + " |")
    reused = sum(1 for folder, st in states.items() if st == "done" and _reused(folder))
    return "\n".join([_caption(spec, draws, seeds, split), "", *lines, "", *_notes(spec, out, partial, reused)])


def _reused(folder: Path) -> bool:
    """Whether the run was copied from another table's folder (`raereid table --reuse`; its job.json says whence)."""
    return bool(record_at(folder).get("reused_from"))


def _caption(spec: TableSpec, draws: dict[str, str], seeds: list[int], split: str) -> str:
    budget = f"{spec.iterations} iterations" if spec.iterations else "their config's iterations"
    where = "; ".join(f"{name} = `{root}`" for name, root in draws.items())
    return (f"**{spec.title}**: the target's **{split}** split (query/gallery), percent; seeds "
            f"{', '.join(map(str, seeds))}; adapted rows {budget} from their seed's source stage; draws: {where}.")


def _notes(spec: TableSpec, out: Path, partial: bool, reused: int = 0) -> list[str]:
    notes = ["Source stages (`raereid train --variant direct`, trained once per seed and draw; every adapted row "
             "starts from its seed and draw's model.pt of the stage named here, a direct row is the stage's own run):"]
    for stage in spec.stages.values():
        users = [row.label for row in spec.rows if row.stage == stage.name]
        if users:
            extra = "".join([f", source {stage.source}" if stage.source else "",
                             f", set {' '.join(stage.sets)}" if stage.sets else ""])
            notes.append(f"- `{stage.name}` (config {stage.config}{extra}): {'; '.join(users)}")
    if spec.translate:
        t = spec.translate
        notes.append(f"- {{translated}}: each draw's `raereid translate --config {t.config} --source {t.source}"
                     f"{' --target ' + t.target if t.target else ''}` output "
                     f"({translate_folder(Path(out.name), '<draw>')}, below the --out folder).")
    if spec.sets:
        notes.append(f"Every run: --set {' '.join(spec.sets)}.")
    if reused:
        notes.append(f"{reused} of these runs were made for another table with the same config and copied "
                     "(`--reuse`; each run's job.json names its origin).")
    notes.append("spread = max - min over the seeds, std = their sample standard deviation"
                 + ("; * = mean of fewer seeds than listed." if partial else "."))
    return notes


def replace_block(text: str, name: str, block: str, where: Path) -> str:
    """`text` with the part between <!-- table:NAME --> and <!-- /table:NAME --> replaced by `block`."""
    start, end = f"<!-- table:{name} -->", f"<!-- /table:{name} -->"
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i or text.count(start) != 1 or text.count(end) != 1:
        raise PathError(f"{where} has no single {start} ... {end} pair of markers for table {name!r}", where=where,
                        fix=f"put the line {start} where the table goes and {end} on a line after it")
    return text[: i + len(start)] + "\n" + block.rstrip("\n") + "\n" + text[j:]


def write_block(path: Path, name: str, block: str | None) -> None:
    """Replace the table's block in the file at `path` (written whole, then renamed into place); None: only check."""
    if not path.is_file():
        raise PathError(f"--write: {path} is not a file", where=path,
                        fix="pass the docs file holding the table markers")
    text = replace_block(path.read_text(encoding="utf-8"), name, block or "", path)
    if block is None:
        return
    write_text(path, text)
