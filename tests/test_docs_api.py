"""docs/api.md's examples run as written (checkpoint and ONNX paths replaced) on generated frames."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from raereid.cli.main import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _frame_and_boxes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 240 x 320 frame holding four people of different colours and shapes, and their boxes."""
    frame = rng.integers(0, 60, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 60, 200], [80, 30, 120, 230], [150, 10, 215, 180], [240, 50, 300, 235]], dtype=float)
    for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
        person = rng.integers(0, 256, (y2 - y1, x2 - x1, 3), dtype=np.uint8)
        person[: (y2 - y1) // 3] = (60 * i, 255 - 50 * i, 40 + 70 * i)  # a different "shirt" each
        frame[y1:y2, x1:x2] = person
    return frame, boxes


def test_the_tracker_and_onnx_examples_run_and_pair_everyone_with_themselves(tiny_runs, tmp_path, capsys):
    tracker, onnx_block = _blocks()
    onnx_path = tmp_path / "model.onnx"
    argv = ["export", "--checkpoint", str(tiny_runs.direct), "--out", str(onnx_path), "--input", "uint8-nhwc",
            "--no-check"]
    assert main(argv) == 0
    frame_a, boxes_a = _frame_and_boxes(np.random.default_rng(0))
    order = [2, 0, 3, 1]  # the next frame: the same people, detected in another order
    scope = {"frame_a": frame_a, "boxes_a": boxes_a, "frame_b": frame_a.copy(), "boxes_b": boxes_a[order]}
    assert '"runs/full/model.pt"' in tracker and '"model.onnx"' in onnx_block
    exec(tracker.replace('"runs/full/model.pt"', repr(str(tiny_runs.direct))), scope)
    assert sorted(scope["pairs"]) == sorted((person, j) for j, person in enumerate(order))  # (track, detection)
    assert scope["tracks"].shape == (4, scope["extractor"].dim)
    exec(onnx_block.replace('"model.onnx"', repr(str(onnx_path))), scope)
    assert np.abs(scope["onnx_tracks"] - scope["tracks"]).max() <= 1e-5
