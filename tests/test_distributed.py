"""DDP on the CPU (gloo, loopback): 2 processes train what 1 process trains with the same global batch.

The tests assert what DDP guarantees, read from both runs by the probe plugin tests/ddp_probe.py:
- the same pseudo-labels (the clustering at the start of the run, from the same weights): equal;
- the same sampled batches: the two processes' shares of every batch, put together, are the one process's batch
  (image indices and augmentation seeds): equal;
- the same first step: the gradients of the first generator and discriminator steps (DDP's averages over the
  processes) equal the one process's within float rounding: the largest difference is at most GRAD_RTOL of the
  largest gradient of the step;
- weights (and the memory learner's centroids) after the run within the case's tolerance.

Float rounding differs between the runs (a global batch norm sums its statistics over the processes in another
order; a convolution over 8 images may sum in another order than over 16), and training amplifies it, the more
so through the two GANs, the fused triplet loss of `full` (its descriptor starts with a norm of about 5e-4) and
the memory learner's logits (divided by the temperature 0.05). The tolerances come from the differences measured
over seeds 0, 1, 2 at 1 and 2 OpenMP threads per process (every run: labels and batches equal), with

    python tests/test_distributed.py --seeds 0 1 2 --threads 1 2      # 36 runs, 14 CPU minutes

variant, learner, iterations | first-step gradients, relative | weights after the run, largest |difference|
ft+pt, classifier, 8        | 7.3e-06 to 1.4e-05             | network 3.1e-03 to 8.9e-03, heads 2.2e-04 to 1.5e-03
full, classifier, 2         | 6.2e-06 to 8.6e-06             | network 2.6e-07 to 1.8e-05, heads 3.0e-08 to 6.0e-08
ft+pt, memory, 2            | 6.9e-06 to 1.4e-05             | network 2.4e-07 to 2.7e-06, centroids 2.2e-07 to 3.7e-07
(2026-12-06, a shared 2-core machine, torch 2.14.1 CPU). GRAD_RTOL is 14x the largest gradient difference; a
weight tolerance is 10x the largest weight difference of its case (ft+pt, classifier: 9e-2), or the tolerance this
test had before the measurement where that is larger (2e-3 and 1e-3, 100x and more above the measured): the sharp
checks are the equalities and the first step, the weights only catch a run that went elsewhere. One case in six
(full, seed 1, 2 threads) differed about 35x more than the others of its case: differences after a few steps are
heavy-tailed, hence the margins.

No metric is compared: an mAP after 8 iterations on the tiny benchmark's 16 queries moves by most of a point with
float rounding alone (18.0 vs 17.2 on another machine of the same kind), which says nothing about DDP.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import one_thread_env, train_command

from raereid.engine.checkpoint import load_checkpoint

PROBE = Path(__file__).with_name("ddp_probe.py")
# The paper's optimiser. Adam divides by the root of tiny early second moments and so amplifies float
# rounding: measured 15.3 vs 17.9 mAP after 8 iterations with Adam, 16.1 vs 16.4 with SGD.
# lambda_rec = 1 / (3 * 64 * 32): the reconstruction loss is a sum over an image's pixels (Eq. 11), so this is the
# per-pixel mean with weight 1; the preset's weight with SGD at lr 0.01 makes the decoder's weights jump and two
# processes' float rounding grow apart. Label smoothing 0.1, the CPU preset's value when these runs were first
# measured (with the paper's plain cross-entropy the `ft+pt` runs drift further).
SGD = ("optim.optimizer=sgd", "optim.disc_optimizer=sgd", "optim.lr_encoder=0.01", "optim.lr_other=0.01",
       "optim.lr_discriminator=0.01", "loss.lambda_rec=0.00016276", "loss.label_smoothing=0.1")
GRAD_RTOL = 2e-4  # float32 sums in another order, relative to the step's largest gradient (measured: the docstring)
CASES = [  # variant, learner, iterations, weight tolerance (measured: the docstring)
    ("ft+pt", "classifier", 8, 9e-2), ("full", "classifier", 2, 2e-3), ("ft+pt", "memory", 2, 1e-3),
]
PARTS = ("model", "learner", "learner_modules")  # the memory learner's centroids are updated from the global batch


def _run(root: Path, out: Path, nproc: int, iterations: int = 8, *extra: str, variant: str = "full",
         env: dict[str, str] | None = None, probe: bool = True, flags: tuple[str, ...] = ()) -> Path:
    """Train into `out`, with the probe recording into out/../probe-OUTNAME (returned) unless `probe` is False."""
    folder = out.parent / f"probe-{out.name}"
    run = ("train.checkpoint_every=4", f"train.iters_per_epoch={iterations}", "train.gap_picture=false", *SGD, *extra)
    cmd = train_command(root, out, variant, iterations, *run, nproc=nproc, flags=flags)
    if probe:
        folder.mkdir(parents=True, exist_ok=True)
        cmd[3:3] = ["--import", str(PROBE)]  # python -m raereid --import PROBE train ...
    proc = subprocess.run(cmd, env={**(env or one_thread_env()), "RAEREID_PROBE": str(folder)}, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "metrics.json").is_file()
    return folder


def sampled_batches(probe: Path) -> dict[tuple, list]:
    """(sampler seed, epoch, batch index) -> the whole batch: the processes' shares in rank order."""
    batches: dict[tuple, list] = {}
    for file in sorted(probe.glob("batches-rank*.jsonl"), key=lambda f: int(f.stem.removeprefix("batches-rank"))):
        for line in file.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            batches.setdefault((tuple(record["seed"]), record["epoch"], record["batch"]), []).extend(record["share"])
    return batches


def gradient_gaps(one: Path, two: Path) -> list[float]:
    """Per recorded step: the largest |gradient difference| over the largest |gradient| of the one-process run."""
    a, b = (torch.load(p / "grads.pt", weights_only=True) for p in (one, two))
    assert len(a) == len(b) > 0 and [[t.shape for t in s] for s in a] == [[t.shape for t in s] for s in b]
    return [max((x - y).abs().max().item() for x, y in zip(sa, sb)) / max(x.abs().max().item() for x in sa)
            for sa, sb in zip(a, b)]


def weight_gaps(one: Path, two: Path) -> dict[str, float]:
    """Per part of the final checkpoint: the largest |difference| of a floating-point tensor."""
    a, b = (load_checkpoint(d / "model.pt") for d in (one, two))
    return {part: max(((a[part][k].float() - b[part][k].float()).abs().max().item()
                       for k in a[part] if a[part][k].is_floating_point()), default=0.0) for part in PARTS}


@pytest.mark.parametrize(("variant", "learner", "iterations", "weight_tol"), CASES)
def test_two_processes_match_one(tiny_bench: Path, tmp_path: Path, variant: str, learner: str, iterations: int,
                                 weight_tol: float) -> None:
    extra = (f"learner.name={learner}",)
    probes = [_run(tiny_bench, tmp_path / name, n, iterations, *extra, variant=variant)
              for name, n in (("one", 1), ("two", 2))]
    a, b = (load_checkpoint(tmp_path / d / "model.pt") for d in ("one", "two"))
    assert torch.equal(a["pseudo"]["labels"], b["pseudo"]["labels"])
    one, two = (sampled_batches(p) for p in probes)
    assert one and one == two and len(list(probes[1].glob("batches-rank*.jsonl"))) == 2
    assert max(gradient_gaps(*probes)) <= GRAD_RTOL
    for part, worst in weight_gaps(tmp_path / "one", tmp_path / "two").items():
        assert worst < weight_tol, (part, worst)
    log = (tmp_path / "two" / "train.log").read_text()
    assert "2 process(es)" in log and log.count(f"variant {variant}") == 1  # only rank 0 logs


def test_resume_with_another_world_size(tiny_bench: Path, tmp_path: Path) -> None:
    _run(tiny_bench, tmp_path / "r", 2, 4, "train.iters_per_epoch=8", probe=False, flags=("--keep-last",))
    run = ("train.checkpoint_every=4", "train.iters_per_epoch=8", *SGD)
    proc = subprocess.run(train_command(tiny_bench, tmp_path / "r", "full", 8, *run, resume=True),
                          env=one_thread_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["iterations"] == 8
    assert "resumed from" in (tmp_path / "r" / "train.log").read_text()
    # the user's commands, not torchrun's workers'
    first, second = (tmp_path / "r" / "command.txt").read_text().splitlines()
    assert " raereid train " in first and "--nproc 2" in first and "--resume" not in first
    assert "--nproc 1" in second and second.endswith("--resume")


# A plugin (imported by every process through `raereid --import`): the learner, which after every step also writes
# its state to OUTPUT/learner-rankR.pt, so that the memories of the processes of one run can be compared.
RANK_DUMP = '''
from pathlib import Path

import torch
import torch.distributed as dist

from raereid.learners import register_learner
from raereid.learners.jvtc import JVTCLearner
from raereid.learners.mmcl import MMCLLearner


def dumping(base):
    class Dumping(base):
        def update(self, embedded, labels):
            super().update(embedded, labels)
            rank = dist.get_rank() if dist.is_initialized() else 0
            torch.save(self.state(), Path(self.cfg.train.output) / f"learner-rank{rank}.pt")
    return Dumping


register_learner("mmcl_ranks")(dumping(MMCLLearner))
register_learner("jvtc_ranks")(dumping(JVTCLearner))
'''
# Each learner's target batch: MMCL 8 distinct images (4 a process), JVTC 4 images x 2 views.
LEARNER_BATCH = {"mmcl": ("data.target_p=8", "data.target_k=1"), "jvtc": ()}


@pytest.mark.parametrize("learner", ["mmcl", "jvtc"])
def test_mmcl_and_jvtc_memories_are_the_same_on_every_process_and_match_one_process(
        tiny_bench: Path, tmp_path: Path, learner: str) -> None:
    """`ft+pt`, 2 iterations (MMCL: single labels at step 0, MPLP at step 1; JVTC: the global term counts from step 1):
    the two processes of a run hold the same memories bit for bit (initialised from the gathered descriptors, updated
    from the gathered batch); against one process, the same pseudo-labels (MMCL: every image its own class; JVTC:
    k-means of the same weights), and weights and memories within 1e-3 (measured, seed 0: weights 2.6e-7 (mmcl) and
    2.2e-7 (jvtc), memories 6.0e-7 and 3.3e-7)."""
    plugin = tmp_path / "rank_dump.py"
    plugin.write_text(RANK_DUMP)
    for nproc, name in ((1, "one"), (2, "two")):
        run = ("train.checkpoint_every=4", "train.iters_per_epoch=2", "train.gap_picture=false", *SGD,
               f"learner.name={learner}_ranks", *LEARNER_BATCH[learner])
        cmd = train_command(tiny_bench, tmp_path / name, "ft+pt", 2, *run, nproc=nproc)
        cmd[cmd.index("raereid") + 1:cmd.index("raereid") + 1] = ["--import", str(plugin)]
        proc = subprocess.run(cmd, env=one_thread_env(), capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert (tmp_path / name / "metrics.json").is_file()
    r0, r1 = (torch.load(tmp_path / "two" / f"learner-rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0.keys() == r1.keys() and int(r0["steps"]) == 2
    assert all(torch.equal(r0[k], r1[k]) for k in r0), [k for k in r0 if not torch.equal(r0[k], r1[k])]
    a, b = (load_checkpoint(tmp_path / d / "model.pt") for d in ("one", "two"))
    assert torch.equal(a["pseudo"]["labels"], b["pseudo"]["labels"])
    if learner == "mmcl":
        assert torch.equal(a["pseudo"]["labels"], torch.arange(len(a["pseudo"]["labels"])))
    for part in ("model", "learner"):
        worst = max(((a[part][k].float() - b[part][k].float()).abs().max().item()
                     for k in a[part] if a[part][k].is_floating_point()), default=0.0)
        assert worst < 1e-3, (part, worst)


def compare(root: Path, work: Path, variant: str, learner: str, iterations: int, seed: int,
            env: dict[str, str]) -> dict[str, object]:
    """One process against two on one case, seed and environment: what test_two_processes_match_one checks."""
    extra = (f"learner.name={learner}", f"train.seed={seed}")
    probes = [_run(root, work / name, n, iterations, *extra, variant=variant, env=env)
              for name, n in (("one", 1), ("two", 2))]
    a, b = (load_checkpoint(work / d / "model.pt") for d in ("one", "two"))
    return {"labels equal": torch.equal(a["pseudo"]["labels"], b["pseudo"]["labels"]),
            "batches equal": sampled_batches(probes[0]) == sampled_batches(probes[1]),
            "gradients": max(gradient_gaps(*probes)), **weight_gaps(work / "one", work / "two")}


def _shown(values: dict) -> str:
    return ", ".join(f"{k} {v:.2g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())


def measure(argv: list[str] | None = None) -> None:
    """The spread behind the tolerances: every case at each seed and thread count, one line each, then the largest."""
    import tempfile

    from raereid.synth import generate

    parser = argparse.ArgumentParser(description=measure.__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="raereid-ddp-") as tmp:
        root = Path(tmp) / "bench"
        generate(root, seed=0, scale="tiny", workers=1)  # the tiny_bench fixture's
        for variant, learner, iterations, _ in CASES:
            found: list[dict[str, object]] = []
            for seed in args.seeds:
                for threads in args.threads:
                    env = {**one_thread_env(), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
                    work = Path(tmp) / f"{variant}-{learner}-{seed}-{threads}"
                    found.append(compare(root, work, variant, learner, iterations, seed, env))
                    print(f"{variant} {learner} {iterations} it, seed {seed}, {threads} thread(s): "
                          f"{_shown(found[-1])}", flush=True)
            largest = {k: max(f[k] for f in found) for k in found[0] if isinstance(found[0][k], float)}
            print(f"{variant} {learner} {iterations} it, largest: {_shown(largest)}", flush=True)


if __name__ == "__main__":
    measure()
