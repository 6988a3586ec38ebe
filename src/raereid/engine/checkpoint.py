"""Checkpoints: written atomically (temporary file, fsync, rename), read with `weights_only=True`, and the
`ModelRecord` every RAE checkpoint carries (what rebuilds its network).

A checkpoint holds only tensors and plain Python values, so loading never runs code from the
file; a file holding anything else (a malicious pickle) is refused with a clear error.
Format 2 keeps a learner's trainable modules under "learner_modules" and the pseudo-label stage under
"pseudo"; a file of another format is refused.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
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


def _starts_like_a_zip(path: Path) -> bool:
    """Whether the file opens with a zip record (what torch.save writes), complete or not."""
    try:
        with path.open("rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def _unreadable(path: Path, exc: Exception) -> CheckpointError:
    """The error for a file torch.load could not read, by what the file is: not a checkpoint at all (a text file,
    random bytes), a pickle that holds objects other than tensors (refused: it could run code), or a truncated or
    corrupt checkpoint."""
    reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    unpickler = re.search(r"WeightsUnpickler error: (.*)", str(exc))
    if reason.startswith("Weights only load failed"):  # torch's advice (weights_only=False) is not the fix here
        reason = "its pickled contents do not parse"
    if unpickler and "Unsupported global" in unpickler.group(1):
        return CheckpointError(
            f"refused to load: the file holds objects other than tensors and plain values ({unpickler.group(1)})",
            where=path, fix="only load checkpoints written by raereid (untrusted pickles can run code)")
    if not _starts_like_a_zip(path):
        return CheckpointError(
            "not a checkpoint: the file is not a zip archive as torch.save writes (a log, an image, another file?)",
            where=path,
            fix="pass the .pt file written by raereid train (OUTPUT/model.pt or OUTPUT/checkpoints/last.pt)",
        )
    return CheckpointError(
        f"checkpoint is truncated or corrupt ({(unpickler.group(1) if unpickler else '') or reason})", where=path,
        fix="use another checkpoint (checkpoints/last.pt is replaced atomically, so the previous one is intact)")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a raereid checkpoint safely; any unreadable, untrusted or foreign file, whatever its bytes, raises
    CheckpointError naming it."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError("checkpoint not found", where=path,
                              fix="pass the .pt file written by raereid train (OUTPUT/checkpoints/last.pt)")
    if not os.access(path, os.R_OK):
        raise CheckpointError("no permission to read the checkpoint", where=path,
                              fix="change the file's permissions, or run as a user who may read it")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on odd pickle protocols of a file it then refuses
            state = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise CheckpointError("the checkpoint does not fit in memory", where=path,
                              fix="load it on a machine with more memory") from None
    except Exception as exc:  # noqa: BLE001 - torch.load fails on random bytes in many ways (IndexError, KeyError...)
        raise _unreadable(path, exc) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError("not a raereid checkpoint", where=path, fix="pass a .pt file written by raereid train")
    version = state.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"checkpoint format version {version!r} is not a number", where=path,
                              fix="pass a .pt file written by raereid train")
    if version > VERSION:
        raise CheckpointError(f"checkpoint format {version} is newer than this raereid understands",
                              where=path, fix="upgrade raereid")
    if version < VERSION:
        raise CheckpointError(f"checkpoint format {version} is older than this raereid reads "
                              f"(format {VERSION})", where=path, fix="train it again with this raereid")
    return state


def load_module_state(module: nn.Module, state: dict[str, torch.Tensor], what: str, path: str | Path) -> None:
    """Load a state dict, turning a mismatch into a clear 'other architecture' error."""
    if not is_state_dict(state):
        raise CheckpointError(f"the checkpoint's {what} is not a state dict of tensors (the file is corrupt)",
                              where=path, fix="use another checkpoint")
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
        """The record of a loaded checkpoint; CheckpointError naming the missing or malformed key if it is not an
        RAE's."""
        try:
            config, variant, model = state["config"], state["variant"], state["model"]
            ids, size, iteration = state["num_source_ids"], state["input_size"], state.get("iteration", 0)
        except KeyError as exc:
            raise CheckpointError(f"checkpoint lacks {exc}", where=path,
                                  fix="pass a checkpoint written by raereid train") from None
        checks = {"config": isinstance(config, dict), "variant": isinstance(variant, str),
                  "num_source_ids": _is_count(ids) and ids > 0, "iteration": _is_count(iteration),
                  "input_size": isinstance(size, (list, tuple)) and len(size) == 2 and all(
                      _is_count(v) and v > 0 for v in size),
                  "model": is_state_dict(model)}
        bad = [key for key, ok in checks.items() if not ok]
        if bad:
            raise CheckpointError(f"checkpoint's {bad[0]!r} is malformed (the file is corrupt or not raereid's)",
                                  where=path, fix="pass a checkpoint written by raereid train")
        return cls(config, variant, ids, (size[0], size[1]), model, iteration)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_state_dict(value: object) -> bool:
    """Whether `value` is a {name: tensor} mapping, as module.state_dict() gives."""
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                           for k, v in value.items())


def _output_relative(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with the paths inside the run folder (train.init = OUTPUT/source/model.pt) written relative to it,
    so a run resumed after its folder moved, or from another working folder, compares equal."""
    out = str(values.get("train.output") or "").rstrip("/")
    if not out:
        return values
    return {k: f"OUTPUT{v[len(out):]}" if k != "train.output" and isinstance(v, str) and (v == out or v.startswith(
        out + "/")) else v for k, v in values.items()}


def check_resumable(cfg: Config, saved: dict, path: Path, may_change: Callable[[str], bool],
                    fix: str = "resume with the same config and overrides, or start a new run in another --out "
                               "folder") -> None:
    """Refuse to resume with a config that changes what is trained: every key but those `may_change` accepts must
    equal the checkpoint's (a key the checkpoint lacks had its default); `fix` is the refusal's advice."""
    now = _output_relative(flat_values(cfg))
    before = _output_relative({**flat_values(Config()), **flat_values(saved)})
    changed = [k for k in now if not may_change(k) and before.get(k) != now[k]]
    if changed:
        diffs = ", ".join(f"{k}: {before.get(k)!r} -> {now[k]!r}" for k in changed[:4])
        raise ConfigError(f"--resume with a different configuration ({diffs})", where=path, fix=fix)
