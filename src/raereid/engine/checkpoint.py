"""Checkpoints: written atomically (temporary file, fsync, rename), read with `weights_only=True`, and the
`ModelRecord` every RAE checkpoint carries (what rebuilds its network).

A checkpoint holds only tensors and plain Python values, so loading never runs code from the
file; a file holding anything else (a malicious pickle) is refused with a clear error.
Format 2 keeps a learner's trainable modules under "learner_modules" and the pseudo-label stage under
"pseudo"; a file of another format is refused.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from raereid.config.schema import Config, flat_values
from raereid.errors import CheckpointError, ConfigError

FORMAT = "raereid-checkpoint"
VERSION = 2


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write `state` to `path` so that a crash at any moment leaves either the old or the new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": FORMAT, "version": VERSION, **state}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete the temporary files that killed `save_checkpoint(..., path)` calls left next to `path`.

    A process killed between creating its temporary file and the rename (SIGKILL, OOM killer, power
    loss) leaves `.NAME.XXXXXXXX.tmp` behind: harmless for `path`, which is still the old complete
    file, but each one is as large as a checkpoint and nothing else removes it. Call this only where
    no other process can be writing `path` (raereid train: the main process, before it saves).
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = sorted(p for p in path.parent.glob(f".{path.name}.*.tmp") if p.is_file())
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a raereid checkpoint safely; any unreadable, untrusted or foreign file raises CheckpointError."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError("checkpoint not found", where=path,
                              fix="pass the .pt file written by raereid train (OUTPUT/checkpoints/last.pt)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"refused to load: the file holds objects other than tensors and plain values ({str(exc).splitlines()[0]})",
            where=path,
            fix="only load checkpoints written by raereid (untrusted pickles can run code)",
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint is truncated or corrupt ({str(exc).splitlines()[0]})",
            where=path,
            fix="use another checkpoint (checkpoints/last.pt is replaced atomically, so the previous one is intact)",
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError("not a raereid checkpoint", where=path, fix="pass a .pt file written by raereid train")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"checkpoint format {state['version']} is newer than this raereid understands",
                              where=path, fix="upgrade raereid")
    if state.get("version", 0) < VERSION:
        raise CheckpointError(f"checkpoint format {state.get('version', 0)} is older than this raereid reads "
                              f"(format {VERSION})", where=path, fix="train it again with this raereid")
    return state


def load_module_state(module: nn.Module, state: dict[str, torch.Tensor], what: str, path: str | Path) -> None:
    """Load a state dict, turning a mismatch into a clear 'other architecture' error."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        example = (missing or unexpected or wrong)[0]
        raise CheckpointError(
            f"the checkpoint's {what} has another architecture: {len(missing)} missing, {len(unexpected)} unexpected "
            f"and {len(wrong)} mis-shaped tensors (e.g. {example})",
            where=path,
            fix="use the config the checkpoint was trained with (it is stored in the checkpoint), or a matching "
                "checkpoint",
        )
    module.load_state_dict(state)


@dataclass
class ModelRecord:
    """The keys of an RAE checkpoint (model.pt, checkpoints/last.pt) that rebuild its network: the config it was
    trained with, the variant, the number of source ids (the source classifiers' size), the input size, the
    weights and the iteration they are from. Written by the trainer; read by the model loader and the report."""

    config: dict[str, Any]
    variant: str
    num_source_ids: int
    input_size: tuple[int, int]
    model: dict[str, torch.Tensor]
    iteration: int = 0

    def to_state(self) -> dict[str, Any]:
        return {"config": self.config, "variant": self.variant, "num_source_ids": self.num_source_ids,
                "input_size": list(self.input_size), "model": self.model, "iteration": self.iteration}

    @classmethod
    def from_state(cls, state: dict[str, Any], path: str | Path) -> ModelRecord:
        """The record of a loaded checkpoint; CheckpointError naming the missing key if it is not an RAE's."""
        try:
            return cls(state["config"], str(state["variant"]), int(state["num_source_ids"]), tuple(state["input_size"]),
                       state["model"], int(state.get("iteration", 0)))
        except KeyError as exc:
            raise CheckpointError(f"checkpoint lacks {exc}", where=path,
                                  fix="pass a checkpoint written by raereid train") from None


def check_resumable(cfg: Config, saved: dict, path: Path,
                    may_change: Callable[[str], bool]) -> None:
    """Refuse to resume with a config that changes what is trained: every key but those `may_change` accepts must
    equal the checkpoint's (a key the checkpoint lacks had its default)."""
    now = flat_values(cfg)
    before = {**flat_values(Config()), **flat_values(saved)}
    changed = [k for k in now if not may_change(k) and before.get(k) != now[k]]
    if changed:
        diffs = ", ".join(f"{k}: {before.get(k)!r} -> {now[k]!r}" for k in changed[:4])
        raise ConfigError(
            f"--resume with a different configuration ({diffs})",
            where=path,
            fix="resume with the same config and overrides, or start a new run in another --out folder",
        )
