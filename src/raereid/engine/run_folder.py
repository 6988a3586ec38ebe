"""The run folder: the name of every file `raereid train` (and the translator of `raereid translate`) writes
into its output folder, and the command line kept there. Every other module asks this one for a path.

Light on purpose (no torch): the CLI's path checks import it before any work starts.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MODEL = "model.pt"  # the final network (config, weights, learner state, history; no optimiser state)
LAST = "checkpoints/last.pt"  # everything --resume needs, replaced atomically during training
SNAPSHOTS = "checkpoints/select"  # weights-only snapshots along the run for `raereid select` (select.snapshots)
METRICS = "metrics.json"  # the final target scores
LOG = "train.log"
TENSORBOARD = "tensorboard"
GAP_PICTURE = "domain_gap.png"  # t-SNE of source and target descriptors, before and after (train.gap_picture)
GAP_STATS = "domain_gap.json"  # the picture's mixing figures
COMMAND = "command.txt"  # the command line(s) that produced the run
SOURCE_STAGE = "source"  # the source stage's own run folder, inside a two-stage run's (adapt/recipe.py)
CONFIG = "config.yaml"  # the resolved config (every key), loadable again with --config
TRANSLATOR = "translator.pt"  # the image translator's final weights (raereid translate, in OUT/translator/)
TRANSLATIONS = "translations.png"  # raereid translate: source and target images next to their translations

COMMAND_ENV = "RAEREID_COMMAND"  # `raereid train --nproc N` passes the user's command to the processes it starts

# What `raereid train` writes into its output folder: relative path -> True for a folder, False for a file
# (the CLI refuses an output folder where one of them has the other kind).
ENTRIES: Mapping[str, bool] = {
    "checkpoints": True, TENSORBOARD: True, LAST: False, MODEL: False, METRICS: False, LOG: False,
    GAP_PICTURE: False, GAP_STATS: False, COMMAND: False, CONFIG: False, SOURCE_STAGE: True,
}
CHECKPOINTS = (MODEL, LAST)  # the checkpoints of a run, the one to read first first
MARKERS = (METRICS, MODEL, LAST, LOG)  # any of them makes a folder a run


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run's files."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def model(self) -> Path:
        return self.path / MODEL

    @property
    def last(self) -> Path:
        return self.path / LAST

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def log(self) -> Path:
        return self.path / LOG

    @property
    def tensorboard(self) -> Path:
        return self.path / TENSORBOARD

    @property
    def gap_picture(self) -> Path:
        return self.path / GAP_PICTURE

    @property
    def gap_stats(self) -> Path:
        return self.path / GAP_STATS

    @property
    def command(self) -> Path:
        return self.path / COMMAND

    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def source_stage(self) -> RunFolder:
        """The source stage's run folder of a two-stage run."""
        return RunFolder(self.path / SOURCE_STAGE)

    def snapshot(self, iteration: int) -> Path:
        """The weights-only snapshot of `iteration` (select.snapshots)."""
        return self.path / SNAPSHOTS / f"iter_{iteration:06d}.pt"

    def checkpoints(self) -> list[Path]:
        """The run's checkpoints that exist, model.pt first."""
        return [self.path / name for name in CHECKPOINTS if (self.path / name).is_file()]

    def is_run(self) -> bool:
        """Whether the folder holds any file `raereid train` writes into its output folder."""
        return any((self.path / name).is_file() for name in MARKERS)

    def run_entries(self) -> list[str]:
        """What of a run (finished or only started) the folder holds: the ENTRIES that exist, relative to it, its
        source stage's included ('' when none: a new run may be written there)."""
        own = [name for name in ENTRIES if name != SOURCE_STAGE and (self.path / name).exists()]
        source = self.source_stage.run_entries() if (self.path / SOURCE_STAGE).is_dir() else []
        return own + [f"{SOURCE_STAGE}/{name}" for name in source]

    def resumable(self) -> bool:
        """Whether --resume has something to continue: a checkpoint here or in the source stage."""
        return any(folder.checkpoints() for folder in (self, self.source_stage))

    def clear(self) -> list[str]:
        """Delete what a run wrote here (ENTRIES, the source stage's folder included), nothing else; the names."""
        removed = [name for name in ENTRIES if (self.path / name).exists()]
        for name in removed:
            entry = self.path / name
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        return removed

    def finished_at(self) -> float:
        """The modification time of the first of its run files (for ordering runs)."""
        return next((self.path / name).stat().st_mtime for name in MARKERS if (self.path / name).is_file())


def shell_command(argv: Sequence[str], cwd: str | Path | None = None) -> str:
    """`cd CWD && raereid ARGV...`, quoted for a POSIX shell, so it can be pasted and re-run as is."""
    cwd = Path.cwd() if cwd is None else Path(cwd)
    return f"cd {shlex.quote(str(cwd))} && raereid {shlex.join(argv)}"


def record_command(run_dir: str | Path, command: str, append: bool = False) -> Path:
    """Write (or, for a resumed run, append) `command` to RUN_DIR/command.txt."""
    path = RunFolder(run_dir).command
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        fh.write(command.rstrip("\n") + "\n")
    return path


def read_command(run_dir: str | Path) -> str | None:
    """The recorded command(s) of a run, or None when the run predates command.txt."""
    path = RunFolder(run_dir).command
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None
