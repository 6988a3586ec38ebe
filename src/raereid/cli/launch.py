"""`raereid train --nproc N`: re-run the same command under torchrun with N local processes."""

from __future__ import annotations

import subprocess
import sys


def strip_nproc(argv: list[str]) -> list[str]:
    """`argv` without `--nproc N` / `--nproc=N`."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def launch_torchrun(nproc: int, argv: list[str]) -> int:
    """Run `python -m raereid <argv>` in `nproc` processes on this machine (torchrun --standalone)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "raereid",
           *strip_nproc(argv)]
    return subprocess.call(cmd)
