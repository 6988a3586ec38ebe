"""The runs an experiment needs, in the order they can run: translations, then source stages, then rows.

A translation is made once per draw (when a run uses {translated}), a source stage once per (stage, seed,
draw), and every adapted row of a seed and draw starts from that seed and draw's stage (`train.init`),
with the stage's source and overrides (but not its iteration count), then its own.
Nothing here runs anything: `plan` returns `Job`s, experiments/run.py runs them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from raereid.engine.run_folder import MODEL
from raereid.errors import ConfigError
from raereid.experiments.spec import TRANSLATED, Row, TableSpec

# The flags of `raereid train` a job's command spells (the config keys they set): a job records the overrides they
# make, so experiments/state.py resolves its config without the command-line parser.
TRAIN_FLAGS = {"data.root": "--data-root", "data.source": "--source", "train.variant": "--variant",
               "train.output": "--out", "train.seed": "--seed"}


@dataclass(frozen=True)
class Job:
    """One subprocess: its folder, command, the jobs it needs finished first and the file that says it is done.
    A training job also names its config (`config`, then `overrides` in order, as `raereid train` applies its
    --config, its flags and its --sets), and `env`, what it adds to the environment (None: one thread, run.py's
    ONE_THREAD)."""

    key: str  # e.g. "stage default A seed 0"
    kind: str  # translate | stage | row
    folder: Path
    argv: tuple[str, ...]
    needs: tuple[str, ...] = ()
    done_file: str = "metrics.json"
    resume_file: str = "checkpoints/last.pt"
    config: str | None = None
    overrides: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] | None = None


def translate_folder(out: Path, draw: str) -> Path:
    return out / f"translated-{draw}"


def stage_folder(out: Path, draw: str, stage: str, seed: int, layout: str = "table") -> Path:
    """Where a source stage's run of one seed and draw is (OUT/STAGE in the flat layout)."""
    return out / stage if layout == "flat" else out / draw / "stages" / stage / f"seed{seed}"


def row_folder(out: Path, draw: str, row: Row, seed: int, layout: str = "table") -> Path:
    """Where a row's run of one seed and draw is; a direct row is its source stage's run."""
    if row.variant == "direct":
        return stage_folder(out, draw, row.stage, seed, layout)
    return out / row.slug if layout == "flat" else out / draw / "rows" / row.slug / f"seed{seed}"


def inherited(stage_sets: tuple[str, ...]) -> list[str]:
    """A stage's overrides that its rows run with too (the network must match): all but its iteration count."""
    return [kv for kv in stage_sets if kv.partition("=")[0].strip() != "optim.iterations"]


def _sets(items: tuple[str, ...] | list[str]) -> list[str]:
    return [a for kv in items for a in ("--set", kv)]


def train_job(key: str, kind: str, folder: Path, config: str, flags: dict[str, str], sets: list[str],
              needs: tuple[str, ...]) -> Job:
    """A `python -m raereid train --config CONFIG FLAG VALUE ... --set KV ...` job; `flags` maps TRAIN_FLAGS' keys
    to their values, in the order the command spells them."""
    argv = (sys.executable, "-m", "raereid", "train", "--config", config,
            *(a for k, v in flags.items() for a in (TRAIN_FLAGS[k], v)), *_sets(sets))
    in_order = [f"{k}={flags[k]}" for k in TRAIN_FLAGS if k in flags]  # the flags, then the sets (which win)
    return Job(key, kind, folder, argv, needs, config=config, overrides=(*in_order, *sets))


def plan(spec: TableSpec, draws: dict[str, str], out: Path, seeds: tuple[int, ...] | list[int]) -> list[Job]:
    """Every job of the experiment for these draws and seeds, each after the jobs it needs."""
    if spec.layout == "flat" and (len(draws) != 1 or len(seeds) != 1):
        raise ConfigError(f"{spec.path}: layout flat keeps one run per row, so it takes one draw and one seed "
                          f"(got {len(draws)} draw(s), seeds {' '.join(map(str, seeds))})", where=spec.path,
                          fix="pass one --draw and one seed, or use layout: table")
    iterations = [f"optim.iterations={spec.iterations}"] if spec.iterations else []
    used = [spec.stages[name] for name in spec.stages if any(row.stage == name for row in spec.rows)]
    adapted = [row for row in spec.rows if row.variant != "direct"]
    translates, stages, rows = [], [], []
    for draw, root in draws.items():
        translated = str(translate_folder(out, draw))

        # This draw's root and translated folder are bound as defaults (the helpers are called within this iteration).
        def job(key: str, kind: str, config: str, variant: str, folder: Path, seed: int, source: str | None,
                sets: list[str], needs: tuple[str, ...], *, root: str = root, translated: str = translated,
                draw: str = draw) -> Job:
            texts = [(source or "").replace(TRANSLATED, translated), *(s.replace(TRANSLATED, translated) for s in sets)]
            flags = {"data.root": root, "train.variant": variant, "train.output": str(folder), "train.seed": str(seed),
                     **({"data.source": texts[0]} if source else {})}
            uses = any(TRANSLATED in t for t in (source or "", *sets))
            return train_job(key, kind, folder, config, flags, texts[1:],
                             (*needs, *((f"translate {draw}",) if uses else ())))

        for st in used:
            for seed in seeds:
                folder = stage_folder(out, draw, st.name, seed, spec.layout)
                stages.append(job(f"stage {st.name} {draw} seed {seed}", "stage", st.config, "direct", folder, seed,
                                  st.source, [*spec.sets, *st.sets], ()))
        for row in adapted:
            for seed in seeds:
                folder = row_folder(out, draw, row, seed, spec.layout)
                init = stage_folder(out, draw, row.stage, seed, spec.layout) / MODEL
                stage_sets = inherited(spec.stages[row.stage].sets)
                sets = [*spec.sets, *stage_sets, *iterations, *row.sets, f"train.init={init}"]
                rows.append(job(f"row {row.label!r} {draw} seed {seed}", "row", row.config, row.variant, folder, seed,
                                row.source, sets, (f"stage {row.stage} {draw} seed {seed}",)))
        if spec.translate and any(f"translate {draw}" in job.needs for job in (*stages, *rows)):
            t = spec.translate
            argv = (sys.executable, "-m", "raereid", "translate", "--config", t.config, "--data-root", root,
                    "--source", t.source, *(("--target", t.target) if t.target else ()), "--out", translated,
                    *_sets(t.sets))
            translates.append(Job(f"translate {draw}", "translate", Path(translated), argv, (), "translate.json",
                                  "translator/checkpoints/last.pt"))
    return [*translates, *stages, *rows]
