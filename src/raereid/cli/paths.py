"""Checks of the paths a command reads and writes, made before it does any work or creates anything.

An output that is an existing file where a folder is needed (or a folder where a file is), that
cannot be written, or that lies inside a dataset tree the command reads stops with a `PathError`
(exit code 2) before any folder is created; so does a checkpoint that is a folder or a missing index.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from raereid.engine import run_folder
from raereid.errors import ConfigError, PathError

if TYPE_CHECKING:
    from raereid.config.schema import Config

Protected = Iterable[tuple["str | Path | None", str]]  # (folder, what it is), e.g. (data root, "the data root")

# What `raereid train` writes into its output folder (relative path -> True for a folder), and its checkpoints.
RUN_ENTRIES: Mapping[str, bool] = run_folder.ENTRIES
CHECKPOINT_NAMES = run_folder.CHECKPOINTS


def _absolute(path: str | Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_can_create(path: Path, flag: str) -> None:
    """`path` does not exist yet: its nearest existing ancestor must be a folder we may write in."""
    anchor = _nearest_existing(path.parent)
    if not anchor.is_dir():
        raise PathError(f"{flag}: {anchor} is a file, so {path} cannot be created below it", where=path,
                        fix=f"choose a path whose parent folders are folders, or move {anchor} away")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise PathError(f"{flag}: no permission to write in {anchor}", where=path,
                        fix="choose a folder you can write to, or change its permissions")


def _check_outside(path: Path, flag: str, protected: Protected) -> None:
    resolved = path.resolve()
    for folder, what in protected:
        if not folder:
            continue
        tree = _absolute(folder).resolve()
        if resolved == tree or tree in resolved.parents:
            raise PathError(
                f"{flag} is inside {what} ({tree}): outputs there would mix with the images raereid reads", where=path,
                fix="write outputs to a folder outside the dataset tree, e.g. runs/ or results/",
            )


def output_folder(path: str | Path, flag: str, protected: Protected = (),
                  entries: Mapping[str, bool] | None = None) -> Path:
    """Check a folder a command will create or write into; returns it as given."""
    given, target = Path(path).expanduser(), _absolute(path)
    if target.exists() and not target.is_dir():
        raise PathError(f"{flag} must be a folder but {given} is an existing file", where=given,
                        fix="pass a new or existing folder, or move the file away")
    if target.is_dir():
        if not os.access(target, os.W_OK | os.X_OK):
            raise PathError(f"{flag}: no permission to write in {given}", where=given,
                            fix="choose a folder you can write to, or change its permissions")
        for name, is_folder in (entries or {}).items():
            entry = target / name
            if entry.exists() and entry.is_dir() != is_folder:
                kind, needed = ("a folder", "a file") if entry.is_dir() else ("a file", "a folder")
                raise PathError(f"{flag}: {entry} is {kind} where raereid writes {needed}", where=entry,
                                fix=f"move {entry} away or choose another {flag}")
    else:
        _check_can_create(target, flag)
    _check_outside(target, flag, protected)
    return given


def output_file(path: str | Path, flag: str, protected: Protected = ()) -> Path:
    """Check a file a command will create or overwrite; returns it as given."""
    given, target = Path(path).expanduser(), _absolute(path)
    if target.is_dir():
        raise PathError(f"{flag} must be a file but {given} is a folder", where=given,
                        fix=f"pass a file path, e.g. {given / ('out' + (given.suffix or ''))}")
    if target.exists():
        if not os.access(target, os.W_OK) or not os.access(target.parent, os.W_OK | os.X_OK):
            raise PathError(f"{flag}: no permission to overwrite {given}", where=given,
                            fix="choose a path you can write to, or change its permissions")
    else:
        _check_can_create(target, flag)
    _check_outside(target, flag, protected)
    return given


def input_file(path: str | Path, flag: str, what: str = "checkpoint") -> Path:
    """Check that `path` is an existing file (a checkpoint that is a folder names the file inside)."""
    given = Path(path).expanduser()
    if given.is_dir():
        inside = [given / n for n in CHECKPOINT_NAMES if (given / n).is_file()] if what == "checkpoint" else []
        fix = f"pass the file inside it: {inside[0]}" if inside else f"pass the path of the {what} file, not a folder"
        raise PathError(f"{flag}: the {what} is a folder, not a file", where=given, fix=fix)
    if not given.is_file():
        example = f" (OUTPUT/{run_folder.MODEL} or OUTPUT/{run_folder.LAST} of raereid train)"
        example = example if what == "checkpoint" else ""
        raise PathError(f"{what} not found ({flag})", where=given,
                        fix=f"pass the path of an existing {what} file{example}")
    return given


def input_folder(path: str | Path, flag: str, what: str, fix: str) -> Path:
    """Check that `path` is an existing folder."""
    given = Path(path).expanduser()
    if not given.exists():
        raise PathError(f"{what} not found ({flag})", where=given, fix=fix)
    if not given.is_dir():
        raise PathError(f"{flag}: the {what} must be a folder but this is a file", where=given, fix=fix)
    return given


def folders_in(*specs: str | Path | None) -> list[str]:
    """Those of `specs` that are existing folders (dataset or image folders given by path)."""
    return [str(s) for s in specs if s and Path(s).expanduser().is_dir()]


def training_paths(cfg: Config) -> None:
    """Every path `raereid train` will read or write, checked before any data is read or folder created.

    The output folder (and what a run writes in it, so `--resume` never meets a folder named last.pt),
    `train.init` and a `model.pretrained` weights file."""
    from raereid.config.validation import origin

    def label(key: str) -> str:
        return f"{key} (from {origin(cfg, key)})"

    data = cfg.data
    protected = [(data.root, "the data root"),
                 *((f, "a dataset folder it reads") for f in folders_in(data.source, data.target))]
    output_folder(cfg.train.output, label("train.output"), protected, RUN_ENTRIES)
    if cfg.train.init:
        input_file(cfg.train.init, label("train.init"))
    if cfg.model.pretrained not in ("imagenet", "none"):
        input_file(cfg.model.pretrained, label("model.pretrained"), what="weights file")


def run_folder_use(output: str | Path, resume: bool, overwrite: bool) -> None:
    """A folder holding a run (finished or started) is trained into only with --resume (continue it) or --overwrite
    (delete it and start again); --resume needs a checkpoint to continue from. Checked before anything is written."""
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite contradict each other",
                          fix="--resume continues the run in --out; --overwrite deletes it and starts again: pass one")
    folder = run_folder.RunFolder(Path(output).expanduser())
    held = folder.run_entries()
    shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
    finished = folder.model.is_file() and folder.metrics.is_file()
    if resume and not folder.resumable():
        what = "it holds no run" if not held else f"it holds a run that stopped before its first checkpoint ({shown})"
        fix = ("drop --resume to start a new run there" if not held else
               "start it again with --overwrite (its files are deleted first), or train into another --out")
        raise PathError(f"--resume: nothing to resume in {folder.path}: {what}", where=folder.path, fix=fix)
    if held and not resume and not overwrite:
        raise PathError(
            f"{folder.path} holds a {'finished' if finished else 'started'} run ({shown}): training into it again "
            "would replace it", where=folder.path,
            fix="continue it with the same command plus --resume, start it again from scratch with --overwrite (its "
                "files are deleted first), or choose another --out",
        )


def outside(path: str | Path, flag: str, protected: Protected) -> None:
    """Refuse an output inside one of the `protected` folders (checked again once a command knows its data root)."""
    _check_outside(_absolute(path), flag, protected)


INPUT_NAMES = {"data_root": "the data root", "dataset": "the dataset folder it reads",
               "images": "an image folder it reads", "gallery": "the gallery folder it indexes",
               "out": "the benchmark folder it writes"}


def inputs(*images: str | Path | None, **named: str | Path | None) -> list[tuple[str, str]]:
    """The existing folders among a command's inputs, as (folder, what it is) for the `protected` arguments."""
    pairs = [(f, INPUT_NAMES["images"]) for f in folders_in(*images)]
    return pairs + [(f, INPUT_NAMES[name]) for name, spec in named.items() for f in folders_in(spec)]


def positive(value: int | None, flag: str) -> None:
    """Refuse a count option below 1 (None: not given)."""
    if value is not None and value < 1:
        raise ConfigError(f"{flag} must be at least 1, got {value}", fix=f"pass {flag} 1 or more")
