"""`raereid demo` as an experiment: its rows file (rows/demo.yaml), the runs it plans (direct first, then every
adapted row from its model), its plain-text table (table.txt, table.json) and its picture of reconstructions.

Direct transfer trains alone with every core and no GPU, as it did when it ran inside the demo's process (the same
numbers); the adapted rows are one-thread `raereid train` processes, --jobs at a time, like a results table's.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from raereid.experiments.plan import Job, plan, row_folder
from raereid.experiments.spec import Row, TableSpec, load_spec

DEMO_ROWS = Path(__file__).parent / "rows" / "demo.yaml"
DRAW = "demo"  # the one draw: the demo's --data-root
ALL_CORES = (("CUDA_VISIBLE_DEVICES", ""),)  # the environment of the source stage: the machine's threads, the CPU


def parse_runs(text: str, preset: str = "synthetic") -> list[tuple[str, str, str]]:
    """'baseline,full@synthetic-memory' -> [(run name, variant, preset)], direct first; a run's folder is its name."""
    runs = [("direct", "direct", preset)]
    for item in filter(None, (t.strip() for t in text.split(","))):
        variant, _, chosen = item.partition("@")
        chosen = chosen or preset
        name = variant if chosen == preset else f"{variant}-{chosen.removeprefix(preset + '-')}"
        if variant != "direct" and name not in {r[0] for r in runs}:
            runs.append((name, variant, chosen))
    return runs


def demo_spec(runs: str | None = None, iterations: int | None = None, seed: int | None = None,
              overrides: tuple[str, ...] = ()) -> TableSpec:
    """The shipped rows file with the demo's flags applied: --runs replaces its adapted rows, --adapt-iterations
    its iterations, --seed its seed, and --set overrides come last in every run (they win, as in `raereid train`)."""
    spec = load_spec(DEMO_ROWS)
    (stage,) = spec.stages.values()
    rows = spec.rows if runs is None else tuple(Row(name, variant, preset, stage.name, None, ())
                                                for name, variant, preset in parse_runs(runs, spec.config))
    return dataclasses.replace(
        spec, iterations=spec.iterations if iterations is None else iterations,
        seeds=spec.seeds if seed is None else (seed,),
        stages={name: dataclasses.replace(s, sets=(*s.sets, *overrides)) for name, s in spec.stages.items()},
        rows=tuple(dataclasses.replace(r, sets=(*r.sets, *overrides)) for r in rows))


def demo_jobs(spec: TableSpec, data: Path, out: Path) -> list[Job]:
    """The demo's jobs: the source stage on every core, then the adapted rows, the full RAE ones first (the longest,
    so that --jobs runs end together)."""
    direct = [row for row in spec.rows if row.variant == "direct"]
    adapted = sorted((row for row in spec.rows if row.variant != "direct"), key=lambda row: row.variant != "full")
    jobs = plan(dataclasses.replace(spec, rows=(*direct, *adapted)), {DRAW: str(data)}, out, spec.seeds)
    return [dataclasses.replace(job, env=ALL_CORES) if job.kind == "stage" else job for job in jobs]


def run_names(spec: TableSpec, out: Path) -> list[str]:
    """Each row's run folder under `out` (its name in the table and the report), in the file's order."""
    return [row_folder(out, DRAW, row, spec.seeds[0], spec.layout).name for row in spec.rows]


def table_row(run: Path) -> dict:
    """A row of table.json: the run's name (its folder's) and its metrics.json."""
    from raereid.engine.run_folder import RunFolder
    from raereid.inference.metrics import MetricsRecord

    return {"run": run.name, **MetricsRecord.read(RunFolder(run).metrics).to_json()}


def format_table(rows: list[dict]) -> str:
    """Rows of table.json as a plain-text table like the paper's Table IV; PSNR is that of the source's test images
    reconstructed by Dec(Enc(I)) (dB; "-" without a decoder)."""
    lines = [f"{'run':<16}{'learner':<12}{'R1':>7}{'R5':>7}{'R10':>7}{'mAP':>7}{'mINP':>7}{'PSNR':>7}{'iters':>7}"
             f"{'time':>8}"]
    for r in rows:
        psnr = f"{r['psnr_source']:>7.1f}" if r.get("psnr_source") is not None else f"{'-':>7}"
        lines.append(
            f"{r.get('run', r['variant']):<16}{r.get('learner', 'classifier'):<12}{r['rank1']:>7.1f}{r['rank5']:>7.1f}"
            f"{r['rank10']:>7.1f}{r['mAP']:>7.1f}{r['mINP']:>7.1f}{psnr}{r['iterations']:>7}{r['seconds']:>7.0f}s"
        )
    return "\n".join(lines)


def write_tables(rows: list[dict], out: Path) -> str:
    """table.txt and table.json in `out`; returns the table's text."""
    table = format_table(rows)
    (out / "table.txt").write_text(table + "\n", encoding="utf-8")
    (out / "table.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return table


def reconstructions(model_file: Path, picture: Path, count: int = 10) -> Path | None:
    """The first `count` target and source query images above their reconstructions by the model in `model_file`;
    None when that model has no decoder."""
    from raereid.data.registry import load_dataset
    from raereid.inference.model_io import load_model
    from raereid.sheets import reconstruction_sheet
    from raereid.tools.reconstruct import reconstruct

    trained = load_model(model_file)
    if trained.model.decoder is None:
        return None
    data = trained.cfg.data
    src, tgt = (load_dataset(name, data.root) for name in (data.source, data.target))
    h, w = data.height, data.width
    return reconstruction_sheet({
        f"target\n({tgt.name})": reconstruct(trained.model, [r.path for r in tgt.query[:count]], h, w),
        f"source\n({src.name})": reconstruct(trained.model, [r.path for r in src.query[:count]], h, w),
    }, picture)
