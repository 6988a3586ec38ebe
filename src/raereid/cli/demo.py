"""The demo: generate the synthetic cross-domain benchmark if absent, train direct transfer (the recipe's source
stage: Enc on the source ids, Dec on source images), then the adapted runs, all from the direct model, on the CPU;
print a Table-IV-style table and save it with a picture of target and source images next to their reconstructions
by full RAE, and an HTML report of every run.

The runs are the rows file raereid/experiments/rows/demo.yaml, trained by the runner of `raereid table`: direct
transfer alone with every core, then the adapted runs as `raereid train` processes on one thread each, `--jobs` at
a time: on a 2-core machine two one-thread runs finish sooner than two two-thread runs in a row, and a one-thread
run gives the same numbers whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from raereid.cli.common import add_data_root_argument, add_output_argument, add_set_argument
    from raereid.experiments.demo import demo_spec

    shipped = demo_spec()
    add_output_argument(parser, "output folder", default="demo_output")
    add_data_root_argument(parser, "benchmark folder (a data root); generated there if absent",
                           default="demo_output/data")
    parser.add_argument("--scale", default="small", choices=("tiny", "small", "medium"), help="benchmark scale")
    parser.add_argument("--seed", type=int, default=shipped.seeds[0],
                        help="random seed of the benchmark and of every run")
    parser.add_argument("--runs", default=",".join(r.label for r in shipped.rows if r.variant != "direct"),
                        help="comma-separated VARIANT or VARIANT@PRESET to train after direct, e.g. "
                        "baseline,full,full@synthetic-memory")
    parser.add_argument("--adapt-iterations", type=int, default=shipped.iterations,
                        help="iterations of each adapted run, from direct (150 so that the demo fits 15 minutes on 2 "
                        "cores; the results tables of docs/results-synthetic.md use 250)")
    parser.add_argument("--jobs", type=int, default=2, help="adapted runs trained at a time, one thread each")
    add_set_argument(parser, "override a key of the presets for every run")


def run(args: argparse.Namespace) -> int:
    from raereid.cli import paths
    from raereid.cli.common import refuse_unused
    from raereid.engine.run_folder import RunFolder
    from raereid.errors import ConfigError, TrainingError
    from raereid.experiments import demo
    from raereid.experiments.plan import Job
    from raereid.experiments.run import failure_report, run_jobs
    from raereid.experiments.state import planned_config
    from raereid.report.build import write_report
    from raereid.synth import generate

    started = time.perf_counter()
    if args.adapt_iterations < 1:
        raise ConfigError(f"--adapt-iterations must be at least 1, got {args.adapt_iterations}",
                          fix="pass e.g. --adapt-iterations 250")
    refuse_unused("demo", args.overrides)
    paths.output_folder(args.data_root, "--data-root")
    paths.output_folder(args.out, "--out", paths.inputs(data_root=args.data_root))
    out, data = Path(args.out).resolve(), Path(args.data_root).resolve()  # checkpoints record an absolute data root
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}", fix="pass e.g. --jobs 2")
    spec = demo.demo_spec(args.runs, args.adapt_iterations, args.seed, tuple(args.overrides))
    jobs = demo.demo_jobs(spec, data, out)
    configs = {job.key: planned_config(job) for job in jobs}  # every run checked before anything is made or trained
    for cfg in configs.values():
        paths.output_folder(cfg.train.output, "--out", entries=paths.RUN_ENTRIES)
    previous = [job.folder.name for job in jobs if RunFolder(job.folder).run_entries()]
    if previous:  # the demo trains its runs again from scratch (--overwrite): those of an earlier demo are replaced
        print(f"[demo] replacing the runs of an earlier demo in {out}: {', '.join(previous)}", flush=True)
    if not (data / "synth.json").is_file():
        print(f"[demo] generating the synthetic benchmark ({args.scale}) in {data}", flush=True)
        generate(data, seed=args.seed, scale=args.scale)
    else:
        print(f"[demo] reusing the synthetic benchmark in {data}", flush=True)
    stage, adapted = jobs[0], [job.folder.name for job in jobs[1:]]
    print(f"[demo] training direct, the source stage ({configs[stage.key].optim.iterations} iterations)", flush=True)
    rows, lock = {}, threading.Lock()

    def echo(job: Job, line: str) -> None:  # progress, warnings and errors of each run, prefixed with its name
        if line.startswith(("[raereid] source ", "[raereid] adapt ", "[raereid] WARNING", "raereid train:")):
            print(f"[{job.folder.name}] {line}", flush=True)

    def finished(job: Job, failed: str | None) -> None:
        with lock:
            if not failed:
                rows[job.folder.name] = demo.table_row(job.folder)
                print(demo.format_table([rows[job.folder.name]]).splitlines()[1], flush=True)
            if job is stage and adapted:
                print(f"[demo] training {', '.join(adapted)}: {args.jobs} at a time, one thread each", flush=True)

    run_jobs(jobs, out, args.jobs, log=lambda line: None, fresh=True, echo=echo, finished=finished)
    failures = failure_report(jobs, out, lines=20)
    if failures:
        raise TrainingError(f"a demo run failed:\n{failures}", fix="see its train.log and stderr.log")
    names, shown = demo.run_names(spec, out), Path(args.out)
    table = demo.write_tables([rows[name] for name in names], out)
    full = [name for row, name in zip(spec.rows, names) if row.variant == "full" and row.config == spec.config]
    picture = demo.reconstructions(RunFolder(out / [*full, names[-1]][0]).model, shown / "reconstructions.png")
    first = rows[names[0]]
    print(f"\nsynthetic {first['source']} -> {first['target']}, target query/gallery (percent):\n{table}")
    print(f"\n[demo] table: {shown / 'table.txt'}" + (f"; reconstructions: {picture}" if picture else ""))
    report = write_report([shown / name for name in names], shown / "report", device="cpu")
    print(f"[demo] report: {report.resolve()}", flush=True)
    print(f"[demo] done in {time.perf_counter() - started:.0f} s")
    return 0
