"""Whole-file writes: through a temporary file beside the target, then renamed over it, so a reader (or a run killed
half-way) never sees half a file. The one owner of that pattern for the small text files raereid writes
(config.yaml, metrics.json, job.json, manifests, the docs' tables); checkpoints have theirs in engine/checkpoint.py."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path`, creating its folder: all of it or, if interrupted, the previous file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_json(path: str | Path, data: Any) -> Path:
    """Write `data` as indented JSON (one trailing newline) with `write_text`."""
    return write_text(path, json.dumps(data, indent=2) + "\n")
