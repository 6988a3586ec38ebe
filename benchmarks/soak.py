"""Soak test (not part of the test suite): train the CPU preset for many epochs and record memory.

A background thread looks at this process's memory every half second and files what it sees under
the epoch training is in (each epoch starts with a clustering round, a new target classifier, new
optimiser state and new loaders). "peak" is the true peak resident memory since the previous look:
the kernel's high-water mark VmHWM, reset after every reading through /proc/self/clear_refs, so a
short spike between two looks is not missed (where the reset is not allowed, the plain VmRSS
samples are used and the header says so). "end" is the resident memory at the epoch's last look,
what the epoch left behind. The row "end" is what follows the last iteration (final evaluation,
model.pt, the domain-gap picture unless train.gap_picture=false). Flat peaks after the first
epochs mean no leak across clustering rounds, loaders and checkpoints.

    raereid synth --out DATA_TINY --scale tiny
    OMP_NUM_THREADS=1 python benchmarks/soak.py --data DATA_TINY --iterations 600 --set train.iters_per_epoch=20
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def _status_kib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


def rss_mib() -> float:
    return _status_kib("VmRSS") / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS; False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True,
                        help="a raereid synth output (generated there, scale small, if absent)")
    parser.add_argument("--variant", default="full")
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--output", default=str(Path(tempfile.gettempdir()) / "raereid_soak"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="any config override, e.g. train.iters_per_epoch=20 (after the soak's own, so it wins)")
    args = parser.parse_args()

    from raereid.adapt.trainer import Trainer
    from raereid.config import load_config
    from raereid.engine.runtime import setup_runtime
    from raereid.synth import generate

    if not (Path(args.data) / "synth.json").is_file():
        generate(Path(args.data), seed=0, scale="small")
    cfg = load_config("synthetic", [f"data.root={args.data}", f"train.variant={args.variant}",
                                    f"train.output={args.output}", f"optim.iterations={args.iterations}",
                                    "train.eval_every=500", *args.overrides])
    trainer = Trainer(cfg, setup_runtime("cpu"))
    exact = reset_peak()
    peaks: dict[int | str, float] = {}
    ends: dict[int | str, float] = {}
    done = threading.Event()

    def look() -> None:
        key: int | str = "end" if trainer.iteration >= cfg.optim.iterations else trainer.epoch
        now = rss_mib()
        peak = _status_kib("VmHWM") / 1024 if exact else now
        if exact:
            reset_peak()
        peaks[key] = max(peaks.get(key, 0.0), peak)
        ends[key] = now

    def sample() -> None:
        while not done.wait(0.5):
            look()

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    try:
        metrics = trainer.train()
    finally:
        done.set()
        sampler.join()
        look()
    epochs = [k for k in peaks if k != "end"]
    how = "VmHWM, reset every 0.5 s" if exact else "VmRSS sampled every 0.5 s (VmHWM reset not allowed)"
    print(f"\n{args.variant}, {args.iterations} iterations, {trainer.iters_per_epoch} per epoch, {len(epochs)} epochs, "
          f"{time.perf_counter() - started:.0f} s; peak = {how}")
    print(f"{'epoch':>6}{'peak MiB':>10}{'end MiB':>9}")
    for e in [*epochs, *(["end"] if "end" in peaks else [])]:
        print(f"{e:>6}{peaks[e]:>10.0f}{ends[e]:>9.0f}")
    steady = [peaks[e] for e in epochs[2:]]
    if len(steady) >= 2:
        slope = np.polyfit(np.arange(len(steady)), steady, 1)[0]
        print(f"epochs 2-{epochs[-1]}: peak min {min(steady):.0f} MiB, max {max(steady):.0f} MiB, "
              f"trend {slope:+.2f} MiB/epoch")
    print(f"final target mAP {metrics['mAP']}")


if __name__ == "__main__":
    main()
