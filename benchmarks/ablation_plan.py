"""The runs a table needs, in the order they can run: translations, then source stages, then rows.

A translation is made once per draw (when a run uses {translated}), a source stage once per (stage, seed,
draw), and every adapted row of a seed and draw starts from that seed and draw's stage (`train.init`),
with the stage's source and overrides (but not its iteration count), then its own.
Nothing here runs anything: `plan` returns `Job`s, `ablation_run` runs them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ablation_spec import TRANSLATED, Row, TableSpec


@dataclass(frozen=True)
class Job:
    """One subprocess: its folder, command, the jobs it needs finished first and the file that says it is done."""

    key: str  # e.g. "stage default A seed 0"
    kind: str  # translate | stage | row
    folder: Path
    argv: tuple[str, ...]
    needs: tuple[str, ...] = ()
    done_file: str = "metrics.json"
    resume_file: str = "checkpoints/last.pt"


def translate_folder(out: Path, draw: str) -> Path:
    return out / f"translated-{draw}"


def stage_folder(out: Path, draw: str, stage: str, seed: int) -> Path:
    return out / draw / "stages" / stage / f"seed{seed}"


def row_folder(out: Path, draw: str, row: Row, seed: int) -> Path:
    """Where a row's run of one seed and draw is; a direct row is its source stage's run."""
    if row.variant == "direct":
        return stage_folder(out, draw, row.stage, seed)
    return out / draw / "rows" / row.slug / f"seed{seed}"


def inherited(stage_sets: tuple[str, ...]) -> list[str]:
    """A stage's overrides that its rows run with too (the network must match): all but its iteration count."""
    return [kv for kv in stage_sets if kv.partition("=")[0].strip() != "optim.iterations"]


def _sets(items: tuple[str, ...] | list[str]) -> list[str]:
    return [a for kv in items for a in ("--set", kv)]


def plan(spec: TableSpec, draws: dict[str, str], out: Path, seeds: tuple[int, ...] | list[int]) -> list[Job]:
    """Every job of the table for these draws and seeds, each after the jobs it needs."""
    train = (sys.executable, "-m", "raereid", "train")
    iterations = [f"optim.iterations={spec.iterations}"] if spec.iterations else []
    used = [spec.stages[name] for name in spec.stages if any(row.stage == name for row in spec.rows)]
    adapted = [row for row in spec.rows if row.variant != "direct"]
    translates, stages, rows = [], [], []
    for draw, root in draws.items():
        translated = str(translate_folder(out, draw))

        # This draw's root and translated folder are bound as defaults (the helpers are called within this iteration).
        def args(config: str, variant: str, folder: Path, seed: int, source: str | None, sets: list[str], *,
                 root: str = root, translated: str = translated) -> tuple:
            texts = [(source or "").replace(TRANSLATED, translated), *(s.replace(TRANSLATED, translated) for s in sets)]
            return (*train, "--config", config, "--data-root", root, "--variant", variant, "--out", str(folder),
                    "--seed", str(seed), *(("--source", texts[0]) if source else ()), *_sets(texts[1:]))

        def needs(source: str | None, sets: list[str], *, draw: str = draw) -> tuple[str, ...]:
            return (f"translate {draw}",) if any(TRANSLATED in t for t in (source or "", *sets)) else ()

        for st in used:
            for seed in seeds:
                folder, sets = stage_folder(out, draw, st.name, seed), [*spec.sets, *st.sets]
                stages.append(Job(f"stage {st.name} {draw} seed {seed}", "stage", folder,
                                  args(st.config, "direct", folder, seed, st.source, sets), needs(st.source, sets)))
        for row in adapted:
            for seed in seeds:
                folder, init = row_folder(out, draw, row, seed), stage_folder(out, draw, row.stage, seed) / "model.pt"
                stage_sets = inherited(spec.stages[row.stage].sets)
                sets = [*spec.sets, *stage_sets, *iterations, *row.sets, f"train.init={init}"]
                rows.append(Job(f"row {row.label!r} {draw} seed {seed}", "row", folder,
                                args(row.config, row.variant, folder, seed, row.source, sets),
                                (f"stage {row.stage} {draw} seed {seed}", *needs(row.source, sets))))
        if spec.translate and any(f"translate {draw}" in job.needs for job in (*stages, *rows)):
            t = spec.translate
            argv = (sys.executable, "-m", "raereid", "translate", "--config", t.config, "--data-root", root,
                    "--source", t.source, *(("--target", t.target) if t.target else ()), "--out", translated,
                    *_sets(t.sets))
            translates.append(Job(f"translate {draw}", "translate", Path(translated), argv, (), "translate.json",
                                  "translator/checkpoints/last.pt"))
    return [*translates, *stages, *rows]
