"""Crash safety of `raereid train`: SIGKILL at a random moment, SIGTERM / SIGINT, discriminator collapse.

The interrupted runs are real `python -m raereid train` processes on the tiny benchmark
(OMP_NUM_THREADS=1): ITERATIONS iterations, a clustering round every ITERS_PER_EPOCH iterations (so an
interruption can fall in any epoch), a checkpoint after every iteration. Each is resumed with the same
command plus --resume and must end exactly where one uninterrupted run of the same seed ends: every
tensor of model.pt's "model" equal (torch.equal) and the same metrics.json apart from "seconds".

The random delays come from a seeded generator (set RAEREID_CRASH_SEED to try other moments); every
assertion message names the delay and the iteration the run was stopped after.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import zlib
from collections import deque
from pathlib import Path

import pytest
import torch
from conftest import one_thread_env, tiny_overrides, train_command

from raereid.adapt.trainer import Trainer
from raereid.config import load_config
from raereid.engine.checkpoint import load_checkpoint, remove_stale_temporaries, save_checkpoint
from raereid.engine.hooks import COLLAPSE_LOSS, COLLAPSE_WINDOW, DiscriminatorWatch
from raereid.engine.runtime import setup_runtime

ITERATIONS = 20
ITERS_PER_EPOCH = 5
RUN = ("train.checkpoint_every=1", f"train.iters_per_epoch={ITERS_PER_EPOCH}", "train.gap_picture=false")
SEED = int(os.environ.get("RAEREID_CRASH_SEED", "20241130"))
MAX_DELAY = 1.5  # seconds after the first checkpoint; the remaining ~19 iterations take ~5 s here


def _command(root: Path, out: Path, resume: bool = False, *extra: str) -> list[str]:
    return train_command(root, out, "full", ITERATIONS, *RUN, *extra, resume=resume)


def _run(root: Path, out: Path, resume: bool = False, *extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(_command(root, out, resume, *extra), env=one_thread_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _delay(name: str) -> float:
    return random.Random(SEED ^ zlib.crc32(name.encode())).uniform(0.0, MAX_DELAY)


def _start_and_signal(root: Path, out: Path, signum: int, delay: float, *extra: str,
                      group: bool = False) -> tuple[int, str]:
    """Start a run, wait for its first checkpoint, sleep `delay`, send `signum` (to its whole process group, as
    `setsid` + `kill -- -PGID`, SLURM or `timeout` do, when `group`); (exit code, stderr)."""
    log = out.parent / f"{out.name}.stderr"
    out.mkdir(parents=True)
    with open(log, "w") as err:
        proc = subprocess.Popen(_command(root, out, False, *extra), env=one_thread_env(), stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=group)
        try:
            last, deadline = out / "checkpoints" / "last.pt", time.monotonic() + 180
            while not last.exists():
                assert proc.poll() is None, (f"the run ended (code {proc.returncode}) before its first checkpoint:\n"
                                             f"{log.read_text()[-3000:]}")
                assert time.monotonic() < deadline, "no checkpoint within 180 s"
                time.sleep(0.01)
            time.sleep(delay)
            os.killpg(proc.pid, signum) if group else proc.send_signal(signum)
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return code, log.read_text()


def _assert_same_result(reference: Path, out: Path, what: str) -> None:
    a, b = load_checkpoint(reference / "model.pt")["model"], load_checkpoint(out / "model.pt")["model"]
    assert a.keys() == b.keys(), what
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f"{what}: {len(differ)} of {len(a)} tensors differ from the uninterrupted run, e.g. {differ[:3]}"
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (reference, out))
    ma.pop("seconds"), mb.pop("seconds")
    assert ma == mb, what
    assert mb["iterations"] == ITERATIONS


def _stopped_at(out: Path) -> int:
    return int(load_checkpoint(out / "checkpoints" / "last.pt")["iteration"])


@pytest.fixture(scope="module")
def reference(tiny_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted run, the yardstick of every resumed one."""
    out = tmp_path_factory.mktemp("crash") / "uninterrupted"
    _run(tiny_bench, out)
    return out


def test_sigkill_at_a_random_moment_then_resume_is_exact(tiny_bench: Path, tmp_path: Path, reference: Path) -> None:
    out, delay = tmp_path / "killed", _delay("sigkill")
    code, stderr = _start_and_signal(tiny_bench, out, signal.SIGKILL, delay)
    assert code == -signal.SIGKILL, (f"the run was not killed mid-training (exit {code}, delay {delay:.3f} s):\n"
                                     f"{stderr[-2000:]}")
    stopped = _stopped_at(out)  # the last complete checkpoint: the rename is atomic, so never a torn file
    what = f"SIGKILL {delay:.3f} s after the first checkpoint, last checkpoint at iteration {stopped}"
    assert 1 <= stopped < ITERATIONS, what
    # A kill inside save_checkpoint leaves its temporary file; make sure one is there, whatever this kill hit.
    (out / "checkpoints" / ".last.pt.killedmidwrite.tmp").write_bytes(b"PK\x03\x04 truncated")
    _run(tiny_bench, out, resume=True)
    _assert_same_result(reference, out, what)
    # the temporary removed, and last.pt once the run finished (the label-free snapshots, checkpoints/select/, stay)
    left = sorted(p.name for p in (out / "checkpoints").iterdir()) if (out / "checkpoints").exists() else []
    assert left in ([], ["select"]), (what, left)
    log = (out / "train.log").read_text()
    assert f"resumed from {out / 'checkpoints' / 'last.pt'} at iteration {stopped}" in log
    assert "a partial checkpoint left by a killed run" in log


# SIGINT (Ctrl-C) to the main process alone; SIGTERM goes through the same handler, tested below as a scheduler sends
# it, to the whole process group.
@pytest.mark.parametrize("signum", [signal.SIGINT], ids=["SIGINT"])
def test_sigterm_and_sigint_save_exit_130_and_resume_exactly(tiny_bench: Path, tmp_path: Path, reference: Path,
                                                             signum: int) -> None:
    name = signal.Signals(signum).name
    out, delay = tmp_path / "stopped", _delay(name)
    code, stderr = _start_and_signal(tiny_bench, out, signum, delay)
    assert code == 130, f"{name} {delay:.3f} s after the first checkpoint: exit {code}\n{stderr[-2000:]}"
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    stopped = int(state["iteration"])
    what = f"{name} {delay:.3f} s after the first checkpoint, stopped at iteration {stopped}"
    assert 0 < stopped < ITERATIONS, what
    assert f"interrupted at iteration {stopped}; checkpoint saved to" in stderr and "--resume" in stderr, what
    assert sorted(os.listdir(out / "checkpoints")) == ["last.pt"], what  # no temporary file left behind
    assert not (out / "model.pt").exists(), what
    _run(tiny_bench, out, resume=True)
    _assert_same_result(reference, out, what)


def test_sigterm_to_the_process_group_with_workers_saves_exits_130_and_resumes_exactly(
        tiny_bench: Path, tmp_path: Path, reference: Path) -> None:
    """What a scheduler does (SLURM preemption, scancel, timeout): SIGTERM to every process of the job, DataLoader
    workers (data.workers=2) included. The workers ignore it, the main process saves at the end of its step and
    exits 130, and --resume ends where the uninterrupted run (no workers: augmentation is drawn per image) ends."""
    out, delay = tmp_path / "preempted", _delay("group")
    code, stderr = _start_and_signal(tiny_bench, out, signal.SIGTERM, delay, "data.workers=2", group=True)
    assert code == 130, f"SIGTERM to the group {delay:.3f} s after the first checkpoint: exit {code}\n{stderr[-2000:]}"
    stopped = _stopped_at(out)
    what = f"group SIGTERM {delay:.3f} s after the first checkpoint, stopped at iteration {stopped}"
    assert 0 < stopped < ITERATIONS and "killed by signal" not in stderr and "bug in raereid" not in stderr, what
    assert f"interrupted at iteration {stopped}; checkpoint saved to" in stderr, what
    _run(tiny_bench, out, True)  # data.workers may change on --resume (augmentation is drawn per image)
    _assert_same_result(reference, out, what)


@pytest.fixture
def one_thread():
    """Train in this process on one thread, as the subprocesses do (two threads on a busy 2-core machine
    made this test 10x slower), and restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_discriminator_collapse_is_reported(tiny_bench: Path, tmp_path: Path, one_thread: None) -> None:
    """Freeze the generator side (learning rates 0) and give the pixel discriminator Adam at 1e-2: real
    source images vs reconstructions of an untrained decoder are told apart within ~6 iterations, and
    its loss then stays ~1e-3 or below, far under COLLAPSE_LOSS."""
    iterations = COLLAPSE_WINDOW + 10
    overrides = tiny_overrides(
        tiny_bench, tmp_path, "pt", iterations, "optim.lr_encoder=0", "optim.lr_other=0",
        "optim.disc_optimizer=adam", "optim.lr_discriminator=0.01", "train.gap_picture=false",
    )
    Trainer(load_config("synthetic", overrides), setup_runtime("cpu")).train()
    warnings = [line for line in (tmp_path / "train.log").read_text().splitlines() if "discriminator collapse" in line]
    assert len(warnings) == 1, warnings
    assert " WARNING iteration " in warnings[0] and "dis_pix was below" in warnings[0]
    assert COLLAPSE_WINDOW <= int(warnings[0].split("iteration ")[1].split(":")[0]) <= iterations


class _Recorder:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)


class _Loop:
    def __init__(self) -> None:
        self.iteration, self.terms, self.monitor = 0, {}, _Recorder()


def test_collapse_rule_needs_a_full_window_below_the_threshold() -> None:
    """The rule itself: a warning once the median of the last COLLAPSE_WINDOW losses is below COLLAPSE_LOSS
    (spikes do not hide a collapse), none for a healthy discriminator (loss near 2 ln 2) or a window mostly
    above; the window then restarts."""

    def feed(values: list[float], name: str = "dis_feat") -> list[str]:
        watch, loop = DiscriminatorWatch(), _Loop()
        watch.loop = loop
        for v in values:
            loop.iteration += 1
            loop.terms = {name: v, "total": 1.0}
            watch.after_step()
        assert all(isinstance(w, deque) for w in watch.history.values())
        return loop.monitor.warnings

    low = COLLAPSE_LOSS / 10
    assert feed([1.38] * 200) == []
    assert feed([low] * (COLLAPSE_WINDOW - 1)) == []
    assert feed([1.38] * 30 + [low] * (COLLAPSE_WINDOW // 2 - 1)) == []
    spiky = feed(([low] * 9 + [3.0]) * (COLLAPSE_WINDOW // 10))  # collapsed, with a spike every 10 iterations
    assert len(spiky) == 1 and spiky[0].startswith(f"iteration {COLLAPSE_WINDOW}: discriminator collapse: dis_feat")
    warned = feed([1.0] * 5 + [low] * COLLAPSE_WINDOW, "dis_pix")
    # 45 of 50 low
    assert len(warned) == 1 and warned[0].startswith(f"iteration {COLLAPSE_WINDOW}: discriminator collapse: dis_pix")
    assert len(feed([low] * (2 * COLLAPSE_WINDOW + 3))) == 2


def test_stale_temporaries_of_a_killed_save_are_removed(tmp_path: Path) -> None:
    last = save_checkpoint({"iteration": 3}, tmp_path / "last.pt")
    planted = [tmp_path / ".last.pt.a1b2c3d4.tmp", tmp_path / ".last.pt.zz.tmp"]
    for p in planted:
        p.write_bytes(b"partial")
    others = [tmp_path / ".model.pt.a1b2c3d4.tmp", tmp_path / "last.pt.tmp", tmp_path / "notes.txt"]
    for p in others:
        p.write_bytes(b"keep")
    assert remove_stale_temporaries(last) == sorted(planted)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["last.pt", *(p.name for p in others)])
    assert load_checkpoint(last)["iteration"] == 3
    assert remove_stale_temporaries(tmp_path / "missing" / "last.pt") == []
