"""How well the label-free score chooses (issue 32, item 5), from finished run folders: Kendall's tau between the
score and the labelled mAP across runs, and the regret of three label-free choices -- which checkpoint of a run,
which eps, which run among the seeds and variants of a table.

The runs are the tables' (benchmarks/tables/*.yaml, trained with select.evaluate_snapshots=true so that each kept
snapshot has its labelled scores, for the record). The score's design -- one of the fixed specs of
raereid.selection.SPECS, nothing fitted -- is chosen on the validation split: the spec with the highest tau against
the validation mAP across runs, averaged over the draws (ties keep `health`). Its quality is then reported on the
test split, beside every other spec and the baselines "last checkpoint" and "preset eps" as they fall.

    python benchmarks/selection_quality.py --runs runs/tables/table4 runs/tables/learners \
        --eps runs/tables/eps [--preset-eps 0.6] [--json FILE] [--write docs/selection.md]

--write replaces the block between <!-- table:selection_quality --> and <!-- /table:selection_quality --> in FILE
with the printed tables and the command, as benchmarks/ablation.py does for the results tables.

Every folder below a given path that holds a finished run (metrics.json with a label_free record) is read; its draw
is the name of its config's data.root, its seed train.seed, its eps cluster.eps; a run that a table copied from
another with --reuse (job.json's reused_from) counts once; a run whose files cannot be read (a record not yet
restored) stops the measurement, naming the file. The run choice pools every run of
a draw given with --runs (call once per table to judge tables apart). tau is tau-b (scipy.stats.kendalltau) with its
n and a bootstrap 95% interval over the runs; a regret is the best candidate's mAP minus the chosen one's, in mAP
points, averaged over the decisions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from raereid.config.loader import read_yaml
from raereid.errors import InputError, RaeReidError
from raereid.experiments.state import RECORD
from raereid.experiments.table import write_block
from raereid.selection.ranking import Candidate, rank_candidates
from raereid.selection.score import DEFAULT_SPEC, SPECS
from raereid.tools.select import FinishedRun, NoLabelFreeRecord, read_finished_run

SPLITS = ("val", "test")


@dataclass
class QRun:
    """A finished run with what groups it: its draw (data folder), seed, eps and variant."""

    run: FinishedRun
    draw: str
    seed: int
    eps: str
    variant: str


def origin(folder: Path) -> Path:
    """The run a table copied this one from (job.json's `reused_from`, `raereid table --reuse`), else the folder."""
    record = folder / RECORD
    copied = json.loads(record.read_text(encoding="utf-8")).get("reused_from") if record.is_file() else None
    return Path(copied).resolve() if copied else folder


def find_runs(paths: Sequence[str | Path]) -> list[QRun]:
    """Every finished run with a label-free record below `paths` (a run's own source/ stage included), each once:
    a run another table copied with --reuse counts once, under its origin."""
    found: dict[Path, QRun] = {}
    for given in paths:
        for metrics in sorted(Path(given).rglob("metrics.json")):
            folder = metrics.parent.resolve()
            key = origin(folder)
            if key in found:
                continue
            try:
                run = read_finished_run(folder, str(folder))
            except NoLabelFreeRecord:
                continue  # unfinished, or trained before label-free records; unreadable files are errors
            config = read_yaml(str(folder / "config.yaml"))[0] if (folder / "config.yaml").is_file() else {}
            found[key] = QRun(run, Path(str(config.get("data", {}).get("root", "?"))).name,
                              int(config.get("train", {}).get("seed", -1)),
                              str(config.get("cluster", {}).get("eps", "?")),
                              str(config.get("train", {}).get("variant", "?")))
    return list(found.values())


def final_candidate(q: QRun) -> Candidate:
    return q.run.record.candidates(q.run.name, checkpoints=False, final_labelled=q.run.labelled())[0]


def labelled(candidate: Candidate, split: str) -> float | None:
    return candidate.labelled_map if split == "test" else candidate.labelled_val_map


def scored(candidates: list[Candidate], spec: str) -> list[tuple[float, Candidate]] | None:
    """(score, candidate) with the spec's terms common to all; None when no term of the spec applies to all."""
    try:
        ranking = rank_candidates(candidates, spec)
    except InputError:
        return None
    by_key = {(c.run, c.checkpoint): c for c in candidates}
    return [(r.score, by_key[(r.run, r.checkpoint)]) for r in ranking.records]  # best first


def tau(pairs: list[tuple[float, float]], reps: int = 2000) -> dict[str, Any]:
    """Kendall's tau-b of (score, mAP) pairs, their n and a bootstrap 95% interval (fixed seed)."""
    if len(pairs) < 3:
        return {"tau": None, "n": len(pairs), "low": None, "high": None}
    x, y = np.array(pairs, dtype=float).T
    value = kendalltau(x, y).statistic
    rng, draws = np.random.default_rng(0), []
    for _ in range(reps):
        i = rng.integers(0, len(x), len(x))
        t = kendalltau(x[i], y[i]).statistic
        if np.isfinite(t):
            draws.append(t)
    low, high = (np.percentile(draws, [2.5, 97.5]) if draws else (None, None))
    return {"tau": None if not np.isfinite(value) else float(value), "n": len(pairs),
            "low": None if low is None else float(low), "high": None if high is None else float(high)}


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def by(runs: list[QRun], key: Callable[[QRun], Any]) -> dict[Any, list[QRun]]:
    groups: dict[Any, list[QRun]] = {}
    for q in runs:
        groups.setdefault(key(q), []).append(q)
    return groups


def run_choice(runs: list[QRun], spec: str, split: str, reps: int = 2000) -> dict[str, Any]:
    """Per draw: tau between the final models' scores and mAP across runs, and the regret of the best-scored run."""
    out: dict[str, Any] = {}
    for draw, members in sorted(by(runs, lambda q: q.draw).items()):
        ranked = scored([final_candidate(q) for q in members], spec)
        have = [(s, labelled(c, split)) for s, c in ranked or [] if labelled(c, split) is not None]
        if not ranked or len(have) < 2:
            continue
        best = max(m for _, m in have)
        chosen = next(m for _, m in have)  # `have` is best-scored first
        out[draw] = {**tau(have, reps), "regret": best - chosen, "chosen_map": chosen, "best_map": best}
    return out


def checkpoint_choice(runs: list[QRun], spec: str, split: str) -> dict[str, Any]:
    """Per run with labelled snapshots: the regret of the best-scored checkpoint, and of keeping the last one."""
    regrets, last, n = [], [], 0
    for q in runs:
        candidates = q.run.record.candidates(q.run.name, checkpoints=True, final_labelled=q.run.labelled())
        if len(candidates) < 2 or any(labelled(c, split) is None for c in candidates):
            continue
        ranked = scored(candidates, spec)
        if not ranked:
            continue
        maps = [labelled(c, split) for _, c in ranked]
        best = max(maps)
        regrets.append(best - maps[0])
        last.append(best - labelled(candidates[-1], split))  # candidates end with the final model
        n += 1
    return {"runs": n, "regret": _mean(regrets), "regret_last": _mean(last),
            "max_regret": max(regrets) if regrets else None}


def eps_choice(runs: list[QRun], spec: str, split: str, preset: str) -> dict[str, Any]:
    """Per draw and seed, among the eps rows: the regret of the best-scored eps, and of the preset's eps.
    Only adapted runs are candidates: the source stage below the rows (a direct model, which never clusters) is not
    an eps, and its lack of a fused descriptor would drop the agreement term from every candidate's score."""
    regrets, preset_regrets, chosen = [], [], []
    adapted = [q for q in runs if q.variant != "direct"]
    for (draw, seed), members in sorted(by(adapted, lambda q: (q.draw, q.seed)).items()):
        eps_of = {q.run.name: q.eps for q in members}
        if len(set(eps_of.values())) < 2:
            continue
        ranked = scored([final_candidate(q) for q in members], spec)
        maps = {c.run: labelled(c, split) for _, c in ranked or []}
        if not ranked or any(m is None for m in maps.values()):
            continue
        top, best = ranked[0][1].run, max(maps, key=maps.get)
        regrets.append(maps[best] - maps[top])
        chosen.append(f"{draw} s{seed}: {eps_of[top]} (best {eps_of[best]})")
        at_preset = [maps[name] for name, eps in eps_of.items() if eps == preset]
        if at_preset:
            preset_regrets.append(maps[best] - at_preset[0])
    return {"decisions": len(regrets), "regret": _mean(regrets), "regret_preset": _mean(preset_regrets),
            "chosen": chosen}


def evaluate(runs: list[QRun], eps_runs: list[QRun], spec: str, split: str, preset: str,
             reps: int = 2000) -> dict[str, Any]:
    choice = run_choice(runs, spec, split, reps)
    taus = [d["tau"] for d in choice.values() if d["tau"] is not None]
    return {"spec": spec, "split": split, "runs": choice, "mean_tau": _mean(taus),
            "checkpoints": checkpoint_choice(runs + eps_runs, spec, split),
            "eps": eps_choice(eps_runs, spec, split, preset)}


def design(results: dict[str, dict[str, Any]]) -> str:
    """The spec with the highest mean validation tau (ties, or no tau at all: the default)."""
    best = max(results, key=lambda s: (results[s]["mean_tau"] if results[s]["mean_tau"] is not None else -2,
                                       s == DEFAULT_SPEC))
    return best if results[best]["mean_tau"] is not None else DEFAULT_SPEC


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(results: dict[str, dict[str, Any]], chosen: str) -> str:
    """One markdown table of every spec on one split: tau per draw, the three regrets."""
    draws = sorted({d for r in results.values() for d in r["runs"]})
    head = ["score", *(f"tau {d} (n, 95%)" for d in draws), "mean tau", "run regret", "checkpoint regret",
            "last-checkpoint regret", "eps regret", "preset-eps regret"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for spec, r in results.items():
        cells = [f"**{spec}** (chosen)" if spec == chosen else spec]
        for d in draws:
            t = r["runs"].get(d)
            cells.append("-" if not t else f"{_f(t['tau'])} ({t['n']}, {_f(t['low'])} to {_f(t['high'])})")
        regrets = [t["regret"] for t in r["runs"].values()]
        cells += [_f(r["mean_tau"]), _f(_mean(regrets), 1), _f(r["checkpoints"]["regret"], 1),
                  _f(r["checkpoints"]["regret_last"], 1), _f(r["eps"]["regret"], 1), _f(r["eps"]["regret_preset"], 1)]
        lines.append("| " + " | ".join(cells) + " |")
    c, e = results[chosen]["checkpoints"], results[chosen]["eps"]
    lines += ["", f"Checkpoint regrets: mean over {c['runs']} runs with labelled snapshots (the largest for "
                  f"'{chosen}': {_f(c['max_regret'], 1)}); eps regrets: mean over {e['decisions']} decisions "
                  "(one per draw and seed); run regret: mean over the draws.",
              "", f"eps chosen by '{chosen}', per draw and seed (the labelled best beside it): "
                  + ("; ".join(e["chosen"]) or "-") + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=[], help="folders holding the runs ranked (tables' runs)")
    parser.add_argument("--eps", nargs="*", default=[], help="folders holding the eps sweep's runs")
    parser.add_argument("--preset-eps", default="0.6", help="the preset's cluster.eps, the eps baseline")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure as JSON to FILE")
    parser.add_argument("--write", type=Path, metavar="FILE", help="replace the selection_quality block in FILE")
    parser.add_argument("--bootstrap", type=int, default=2000, help="resamples of tau's 95%% interval")
    args = parser.parse_args(argv)
    try:
        return measure(args, ["python", "benchmarks/selection_quality.py", *(sys.argv[1:] if argv is None else argv)])
    except RaeReidError as exc:  # an unreadable run or an unwritable doc: named, with the fix
        print(f"selection_quality: error: {exc.message()}", file=sys.stderr)
        return 2


def measure(args: argparse.Namespace, command: list[str]) -> int:
    """Read the runs, print (and write) the design and report tables; 2 when there is no run to judge."""
    runs, eps_runs = find_runs(args.runs), find_runs(args.eps)
    if not runs and not eps_runs:
        print("selection_quality: no finished run with a label-free record below the given folders", file=sys.stderr)
        return 2
    results = {split: {spec: evaluate(runs, eps_runs, spec, split, args.preset_eps, args.bootstrap) for spec in SPECS}
               for split in SPLITS}
    chosen = design(results["val"])
    text = (f"{len(runs)} runs, {len(eps_runs)} eps-sweep runs. Design on the validation split: score "
            f"'{chosen}' (highest mean tau against val mAP over the draws).\n\n"
            f"Validation split (design):\n\n{table(results['val'], chosen)}\n\n"
            f"Test split (report; the score '{chosen}' is frozen, the others as they fall):\n\n"
            f"{table(results['test'], chosen)}\n")
    print(text)
    if args.write:
        write_block(args.write, "selection_quality", f"{text}\nCommand: `{' '.join(command)}`\n")
    if args.json:
        args.json.write_text(json.dumps({"chosen": chosen, **results}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
