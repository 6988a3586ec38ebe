"""Kernel benchmark: peers and raereid side by side, each kernel in a fresh process, one at a time.

    bash benchmarks/setup_peers.sh                         # once: peer venv with torchreid, fastreid
    .venv-bench/bin/python benchmarks/bench_kernels.py     # every kernel at the issue's scales
    .venv-bench/bin/python benchmarks/bench_kernels.py --scales eval-market jaccard-market

Each measurement runs `python bench_kernels.py --worker ...` in a new process; its wall time is
taken with time.perf_counter around the kernel call only (loading inputs from .npy excluded), its
peak memory is the process's maximum resident set size (os.wait4), inputs included. Outputs are
compared afterwards (not timed). Inputs are synthetic 2048-d features (benchmarks/synthetic.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
GIB = 1024**3

# name: (kernel, sizes, peers, targets)
SCALES = {
    "eval-market": ("eval", dict(q=3368, g=15913, ids=751), ["fastreid-cy", "fastreid-py", "torchreid-py"]),
    "evalfeat-msmt": ("evalfeat", dict(q=11659, g=82161, ids=3060), []),
    "jaccard-market": ("jaccard", dict(n=12936, ids=751), ["spcl"]),
    "jaccard-msmt": ("jaccard", dict(n=32621, ids=1041), ["spcl"]),
    "rerank-market": ("rerank", dict(q=3368, g=15913, ids=751), ["torchreid"]),
    "rerank-32k": ("rerank", dict(q=5000, g=27621, ids=1041), ["torchreid"]),
    "rerank-msmt": ("rerank", dict(q=11659, g=82161, ids=3060), []),
}
PEER_CAP = {"rerank-32k": 20 * GIB}  # address-space cap for the peer (the 20 GiB cap)


# ---------------------------------------------------------------- inputs
def make_inputs(scale: str, data: Path) -> Path:
    """Synthetic inputs for a scale, cached as .npy files in data/scale/."""
    from synthetic import clustered, query_gallery

    kernel, size, _ = SCALES[scale]
    folder = data / scale
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    if kernel == "jaccard":
        feats, _ = clustered(size["n"], size["ids"], seed=1)
        np.save(folder / "feats.npy", feats)
    else:
        qf, gf, qp, gp, qc, gc = query_gallery(size["q"], size["g"], size["ids"], seed=2)
        for name, arr in dict(qf=qf, gf=gf, qp=qp, gp=gp, qc=qc, gc=gc).items():
            np.save(folder / f"{name}.npy", arr)
        if kernel == "eval":  # squared Euclidean distances, as torchreid's and fast-reid's evaluators get them
            from raereid.evaluation.distances import DistanceBlocks

            np.save(folder / "distmat.npy", DistanceBlocks(qf, gf, "euclidean").block(0, len(qf)))
    (folder / "done").touch()
    return folder


def euclidean_f32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances computed in float64, stored as float32, a block of rows at a time."""
    out = np.empty((len(a), len(b)), dtype=np.float32)
    b64 = b.astype(np.float64)
    bsq = (b64 * b64).sum(1)
    for s in range(0, len(a), 1024):
        a64 = a[s:s + 1024].astype(np.float64)
        d = (a64 * a64).sum(1)[:, None] + bsq[None, :] - 2 * a64 @ b64.T
        out[s:s + 1024] = np.sqrt(np.maximum(d, 0))
    return out


# ---------------------------------------------------------------- worker (one kernel, one process)
def worker(kernel: str, impl: str, folder: Path, out: Path) -> None:
    load = lambda name: np.load(folder / f"{name}.npy")  # noqa: E731
    if kernel == "eval":
        args = [load(n) for n in ("distmat", "qp", "gp", "qc", "gc")]
        if impl == "ours":
            from raereid.evaluation import evaluate_rank as fn
        else:
            import peers

            fn = {"fastreid-cy": peers.fastreid_eval_cython, "fastreid-py": peers.fastreid_eval_python,
                  "torchreid-py": peers.torchreid_eval_python}[impl]()
        t0 = time.perf_counter()
        res = fn(*args, 50) if impl != "ours" else fn(*args, max_rank=50)
        elapsed = time.perf_counter() - t0
        if impl == "ours":
            res = (res["cmc"], res["mAP"], res["mINP"])
        cmc, m_ap = np.asarray(res[0], dtype=np.float64), float(res[1])
        m_inp = float(res[2]) if len(res) > 2 else float("nan")
        np.savez(out, cmc=cmc, mAP=m_ap, mINP=m_inp)
    elif kernel == "evalfeat":
        from raereid.evaluation import evaluate_features

        args = [load(n) for n in ("qf", "gf", "qp", "gp", "qc", "gc")]
        t0 = time.perf_counter()
        res = evaluate_features(*args, metric="euclidean")
        elapsed = time.perf_counter() - t0
        np.savez(out, cmc=res["cmc"], mAP=res["mAP"], mINP=res["mINP"])
    elif kernel == "jaccard":
        feats = load("feats")
        if impl == "ours":
            import scipy.sparse as sp

            from raereid.clustering import jaccard_distance

            t0 = time.perf_counter()
            dist = jaccard_distance(feats, k1=30, k2=6)
            elapsed = time.perf_counter() - t0
            sp.save_npz(out, dist, compressed=False)
        else:
            import peers
            import torch

            fn = peers.spcl_jaccard()
            t0 = time.perf_counter()
            dist = fn(torch.from_numpy(feats), k1=30, k2=6, search_option=3)
            elapsed = time.perf_counter() - t0
            np.save(out, dist)
    elif kernel == "rerank":
        qf, gf = load("qf"), load("gf")
        if impl == "ours":
            from raereid.evaluation import rerank

            t0 = time.perf_counter()
            dist = rerank(qf, gf, k1=20, k2=6, lambda_value=0.3)
            elapsed = time.perf_counter() - t0
        else:
            import peers

            fn = peers.torchreid_rerank()
            qg, qq, gg = euclidean_f32(qf, gf), euclidean_f32(qf, qf), euclidean_f32(gf, gf)
            t0 = time.perf_counter()
            dist = fn(qg, qq, gg, k1=20, k2=6, lambda_value=0.3)
            elapsed = time.perf_counter() - t0
        np.save(out, dist)
    else:
        raise SystemExit(f"unknown kernel {kernel}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB  # Linux reports KiB
    print(json.dumps({"seconds": elapsed, "peak_gib": peak}))


def available_gib() -> float:
    """MemAvailable from /proc/meminfo, in GiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024 / GIB
    return float("inf")


def measure(scale: str, impl: str, folder: Path, outdir: Path, cap: int | None) -> dict:
    """Runs one worker process; returns seconds, peak GiB (or the failure) and the output path."""
    kernel = SCALES[scale][0]
    suffix = {"jaccard": ".npz" if impl == "ours" else ".npy", "rerank": ".npy"}.get(kernel, ".npz")
    out = outdir / f"{scale}.{impl}{suffix}"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kernel, impl, str(folder), str(out)]

    def limit() -> None:
        if cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    load_before = os.getloadavg()[0]
    if cap and available_gib() < cap / GIB + 1:
        # a capped peer may really use up to the cap: never push a shared machine into swapless OOM
        return {"scale": scale, "impl": impl, "out": str(out), "load": load_before,
                "error": f"skipped: {available_gib():.1f} GiB available, under the {cap / GIB:.0f} GiB cap + 1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit)
    result = {"scale": scale, "impl": impl, "out": str(out), "load": load_before}
    if proc.returncode != 0:
        err = proc.stderr.strip()
        oom = "MemoryError" in err or "Unable to allocate" in err or proc.returncode == -9
        result["error"] = "out of memory" + (f" under a {cap / GIB:.0f} GiB cap" if cap else "") if oom else (
            err.splitlines()[-1] if err else f"exit {proc.returncode}")
        return result
    result.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return result


# ---------------------------------------------------------------- output comparisons (not timed)
def compare(scale: str, ours: dict, peer: dict) -> str:
    """A one-line agreement report between our output and a peer's."""
    kernel = SCALES[scale][0]
    if kernel == "eval":
        a, b = np.load(ours["out"]), np.load(peer["out"])
        dc = np.abs(a["cmc"] - b["cmc"]).max()
        dm = abs(float(a["mAP"]) - float(b["mAP"]))
        di = abs(float(a["mINP"]) - float(b["mINP"])) if np.isfinite(b["mINP"]) else float("nan")
        worst = max(dc, dm, 0 if np.isnan(di) else di)
        return (f"max |diff| cmc {dc:.1e}, mAP {dm:.1e}, mINP {di:.1e} (mAP {float(a['mAP']):.6f}): "
                f"{'agree to 1e-6' if worst <= 1e-6 else 'DIFFER'}")
    if kernel == "rerank":
        a, b = np.load(ours["out"], mmap_mode="r"), np.load(peer["out"], mmap_mode="r")
        worst, over = 0.0, 0
        for s in range(0, a.shape[0], 512):
            d = np.abs(np.asarray(a[s:s + 512], dtype=np.float64) - b[s:s + 512])
            worst, over = max(worst, float(d.max())), over + int((d > 1e-5).sum())
        return f"max |diff| {worst:.1e}; entries beyond 1e-5: {over} of {a.size}"
    if kernel == "jaccard":
        import scipy.sparse as sp

        mine = sp.load_npz(ours["out"]).tocsr()
        theirs = np.load(peer["out"], mmap_mode="r")
        n = mine.shape[0]
        worst, over, absent_min = 0.0, 0, 1.0
        for s in range(0, n, 1024):
            block = np.ones((min(n, s + 1024) - s, n), dtype=np.float32)
            sub = mine[s:s + 1024].tocoo()
            block[sub.row, sub.col] = sub.data
            ref = np.asarray(theirs[s:s + 1024])
            stored = np.zeros(block.shape, dtype=bool)
            stored[sub.row, sub.col] = True
            d = np.abs(block[stored] - ref[stored])
            worst, over = max(worst, float(d.max())), over + int((d > 1e-5).sum())
            if (~stored).any():
                absent_min = min(absent_min, float(ref[~stored].min()))
        return (f"stored {mine.nnz} ({mine.nnz / n:.0f}/row): max |diff| {worst:.1e}, beyond 1e-5: {over}; "
                f"smallest peer value where ours is absent: {absent_min:.7f}")
    return ""


def dbscan_agreement(ours: dict, peer: dict, eps: float = 0.6) -> str:
    """Adjusted Rand index between our DBSCAN labels and scikit-learn's DBSCAN on the peer's dense matrix."""
    import scipy.sparse as sp
    from sklearn.cluster import DBSCAN
    from sklearn.metrics import adjusted_rand_score

    from raereid.clustering.dbscan import dbscan_labels

    mine = dbscan_labels(sp.load_npz(ours["out"]).tocsr(), eps, 4)
    ref = DBSCAN(eps=eps, min_samples=4, metric="precomputed").fit_predict(np.load(peer["out"]))
    return (f"DBSCAN eps={eps}: {mine.max() + 1} clusters, {(mine < 0).sum()} outliers; "
            f"ARI vs sklearn on the peer's dense matrix = {adjusted_rand_score(ref, mine):.6f}")


# ---------------------------------------------------------------- targets and table
def verdicts(scale: str, ours: dict, peers: dict[str, dict]) -> list[str]:
    def ok(cond: bool) -> str:
        return "met" if cond else "NOT met"

    out = []
    if "error" in ours:
        return [f"ours failed: {ours['error']}"]
    if scale == "eval-market" and "seconds" in peers.get("fastreid-cy", {}):
        r = peers["fastreid-cy"]["seconds"] / ours["seconds"]
        out.append(f"speed >= 2x fast-reid compiled: {r:.1f}x -> {ok(r >= 2)}")
    if scale == "evalfeat-msmt":
        out.append(f"peak < 4 GiB: {ours['peak_gib']:.2f} GiB -> {ok(ours['peak_gib'] < 4)}")
    if scale == "jaccard-msmt" and "seconds" in peers.get("spcl", {}):
        t = ours["seconds"] / peers["spcl"]["seconds"]
        m = ours["peak_gib"] / peers["spcl"]["peak_gib"]
        out.append(f"time <= 1/3 of SpCL: {t:.2f} -> {ok(t <= 1 / 3)}")
        out.append(f"peak <= 1/4 of SpCL: {m:.2f} -> {ok(m <= 1 / 4)}")
    if scale == "rerank-market" and "seconds" in peers.get("torchreid", {}):
        t = ours["seconds"] / peers["torchreid"]["seconds"]
        m = ours["peak_gib"] / peers["torchreid"]["peak_gib"]
        out.append(f"time <= 1/3 of torchreid: {t:.2f} -> {ok(t <= 1 / 3)}")
        out.append(f"peak <= 1/4 of torchreid: {m:.2f} -> {ok(m <= 1 / 4)}")
    if scale == "rerank-msmt":
        out.append(f"completes on this machine: {ours['seconds']:.0f} s, {ours['peak_gib']:.1f} GiB -> met")
    return out


def fmt(res: dict | None) -> tuple[str, str]:
    if res is None:
        return "-", "-"
    if "error" in res:
        return res["error"], "-"
    return f"{res['seconds']:.2f} s", f"{res['peak_gib']:.2f} GiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", nargs="+", default=list(SCALES), choices=list(SCALES))
    ap.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "raereid_bench" / "data")
    ap.add_argument("--out-dir", type=Path, default=Path(tempfile.gettempdir()) / "raereid_bench" / "out")
    ap.add_argument("--no-peers", action="store_true", help="measure raereid only")
    ap.add_argument("--shrink", type=int, default=1, help="divide every size by this (a quick smoke run)")
    ap.add_argument("--keep-outputs", action="store_true", help="keep the (large) kernel outputs")
    ap.add_argument("--worker", nargs=4, metavar=("KERNEL", "IMPL", "FOLDER", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kernel, impl, folder, out = args.worker
        worker(kernel, impl, Path(folder), Path(out))
        return
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.shrink > 1:
        for name, (kernel, size, peer_names) in SCALES.items():
            SCALES[name] = (kernel, {k: max(8, v // args.shrink) for k, v in size.items()}, peer_names)
        args.data_dir = args.data_dir / f"shrink{args.shrink}"
    rows, notes = [], []
    print(f"# raereid kernel benchmark: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, numpy {np.__version__}")
    for scale in args.scales:
        kernel, size, peer_names = SCALES[scale]
        folder = make_inputs(scale, args.data_dir)
        peers = {} if args.no_peers else {
            p: measure(scale, p, folder, args.out_dir, PEER_CAP.get(scale)) for p in peer_names}
        ours = measure(scale, "ours", folder, args.out_dir, None)
        size_text = " x ".join(f"{k}={v}" for k, v in size.items() if k != "ids")
        for name, res in list(peers.items()) or [("-", None)]:
            pt, pm = fmt(res)
            ot, om = fmt(ours)
            ratio_t = ratio_m = "-"
            if res and "seconds" in res and "seconds" in ours:
                ratio_t = f"{res['seconds'] / ours['seconds']:.1f}x faster"
                ratio_m = f"{ours['peak_gib'] / res['peak_gib']:.2f}"
            rows.append(f"| {kernel} | {scale} ({size_text}) | {name} | {pt} | {pm} | {ot} | {om} | {ratio_t} "
                        f"| {ratio_m} |")
            comparable = res and "seconds" in res and "seconds" in ours
            line = f"{scale} vs {name}: " + (compare(scale, ours, res) if comparable else "no comparison")
            notes.append(line)
            print(line, flush=True)
        if scale == "jaccard-market" and "seconds" in peers.get("spcl", {}) and "seconds" in ours:
            notes.append(f"{scale}: " + dbscan_agreement(ours, peers["spcl"]))
            print(notes[-1], flush=True)
        for v in verdicts(scale, ours, peers):
            notes.append(f"{scale}: target {v}")
            print(notes[-1], flush=True)
        loads = [round(r["load"], 1) for r in peers.values()]
        print(rows[-1], f"(load before: peers {loads}, ours {ours['load']:.1f})", flush=True)
        if not args.keep_outputs:
            for res in [ours, *peers.values()]:
                Path(res["out"]).unlink(missing_ok=True)
    print("\n| kernel | scale | peer | peer time | peer peak | ours time | ours peak | speed | memory ours/peer |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
