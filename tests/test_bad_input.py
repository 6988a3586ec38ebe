"""Bad input tried as a new user would: a clear message (what, where, fix), exit code 2, no traceback,
and nothing half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import JPEG_BYTES, tiny_overrides
from PIL import Image

from raereid.cli.main import main


def _train(capsys: pytest.CaptureFixture, root: Path, out: Path, *extra: str, variant: str = "baseline",
           argv: tuple = ()) -> tuple[int, str]:
    sets = [a for kv in tiny_overrides(root, out, variant, 2, *extra) for a in ("--set", kv)]
    code = main(["train", "--config", "synthetic", *argv, *sets])
    return code, capsys.readouterr().err


def _copy(bench: Path, tmp_path: Path) -> Path:
    root = tmp_path / "bench"
    shutil.copytree(bench, root)
    return root


def _assert_clean_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "error:" in err and "fix:" in err
    for needle in needles:
        assert needle in err, err


def test_wrong_data_root(capsys, tiny_bench, tmp_path) -> None:
    code, err = _train(capsys, tiny_bench, tmp_path / "out", f"data.root={tmp_path / 'nowhere'}")
    _assert_clean_error(code, err, "data root is not a folder", str(tmp_path / "nowhere"))
    assert not (tmp_path / "out").exists()


def test_dataset_in_another_layout(capsys, tmp_path) -> None:
    root = tmp_path / "data"
    (root / "Market-1501-v15.09.15" / "images").mkdir(parents=True)
    (root / "Market-1501-v15.09.15" / "images" / "a.jpg").write_bytes(JPEG_BYTES)
    code, err = _train(capsys, root, tmp_path / "out")
    _assert_clean_error(code, err, "no dukemtmcreid dataset found", "bounding_box_train")


def test_unparseable_and_mixed_names(capsys, tiny_bench, tmp_path) -> None:
    root = _copy(tiny_bench, tmp_path)
    (root / "DukeMTMC-reID" / "bounding_box_train" / "holiday photo.jpg").write_bytes(JPEG_BYTES)
    code, err = _train(capsys, root, tmp_path / "out")
    _assert_clean_error(code, err, "holiday photo.jpg", "DukeMTMC-reID convention")


@pytest.mark.parametrize("damage", ["truncated", "zero-byte"])
def test_corrupt_image(capsys, tiny_bench, tmp_path, damage: str) -> None:
    root = _copy(tiny_bench, tmp_path)
    victim = sorted((root / "Market-1501-v15.09.15" / "bounding_box_train").iterdir())[3]
    victim.write_bytes(b"" if damage == "zero-byte" else victim.read_bytes()[:200])
    code, err = _train(capsys, root, tmp_path / "out", "data.verify_images=true")
    _assert_clean_error(code, err, "1 of", "cannot be decoded", victim.name)
    assert not (tmp_path / "out").exists()


def test_odd_modes_formats_and_sizes_are_converted(capsys, tiny_bench, tmp_path) -> None:
    root = _copy(tiny_bench, tmp_path)
    train = sorted((root / "Market-1501-v15.09.15" / "bounding_box_train").glob("*.jpg"))
    for path, mode, size in zip(train, ["L", "RGBA", "CMYK", "P", "RGB"],
                                [(64, 128), (7, 300), (200, 50), (33, 33), (1, 1)]):
        img = Image.open(path).convert("RGB").resize(size).convert(mode)
        if mode in ("RGBA", "P"):
            path.unlink()
            path = path.with_suffix(".png")
        img.save(path)
    code, err = _train(capsys, root, tmp_path / "out", "data.verify_images=true")
    assert code == 0, err


def test_empty_target_folder_and_single_image(capsys, tiny_bench, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    code, err = _train(capsys, tiny_bench, tmp_path / "out", f"data.target={tmp_path / 'empty'}")
    _assert_clean_error(code, err, "holds no images", "empty")
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "x.jpg").write_bytes(JPEG_BYTES)
    code, err = _train(capsys, tiny_bench, tmp_path / "out", f"data.target={tmp_path / 'one'}")
    _assert_clean_error(code, err, "the target has 1 training image(s): too few to cluster")


def test_unlabeled_target_folder_trains(capsys, tiny_bench, tmp_path) -> None:
    target = tmp_path / "cams"
    for i, path in enumerate(sorted((tiny_bench / "Market-1501-v15.09.15" / "bounding_box_train").glob("*.jpg"))):
        (target / f"cam{i % 3 + 1}").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / f"cam{i % 3 + 1}" / f"{i}.jpg")
    code, err = _train(capsys, tiny_bench, tmp_path / "out", f"data.target={target}")
    assert code == 0, err
    assert "nothing to evaluate" in (tmp_path / "out" / "train.log").read_text()


@pytest.mark.parametrize(
    "extra, needles",
    [
        (("optim.iteratons=3",), ("unknown config key 'optim.iteratons'",)),
        (("optim.iterations=three",), ("expected an integer",)),
        (("train.variant=fancy",), ("unknown variant 'fancy'",)),
        (("train.variant=basline",), ("unknown variant 'basline' for train.variant (did you mean baseline?)",)),
        (("learner.name=memroy",), ("(did you mean memory?)",)),
        (("model.backbone=vgg11",), ("unknown backbone 'vgg11'",)),
    ],
)
def test_config_mistakes(capsys, tiny_bench, tmp_path, extra, needles) -> None:
    code, err = _train(capsys, tiny_bench, tmp_path / "out", *extra)
    _assert_clean_error(code, err, *needles)
    assert not (tmp_path / "out").exists()


def test_unknown_preset(capsys, tmp_path) -> None:
    code = main(["train", "--config", "duke2markt", "--data-root", str(tmp_path)])
    _assert_clean_error(code, capsys.readouterr().err, "unknown preset 'duke2markt' (did you mean duke2market")


def test_a_run_folder_or_a_checkpoint_given_as_the_config(capsys, tmp_path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("base: synthetic\n")
    (tmp_path / "run" / "model.pt").write_bytes(b"PK\x03\x04\x00\xff\xfe binary")
    code = main(["train", "--config", str(tmp_path / "run"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    _assert_clean_error(code, err, "the config is a folder", f"pass {tmp_path / 'run' / 'config.yaml'}")
    code = main(["train", "--config", str(tmp_path / "run" / "model.pt"), "--out", str(tmp_path / "o")])
    _assert_clean_error(code, capsys.readouterr().err, "the config is not a YAML text file")
    assert not (tmp_path / "o").exists()


def test_a_corrupt_image_met_by_a_loader_worker_is_the_same_clear_error(capsys, tiny_bench, tmp_path) -> None:
    """With data.verify_images=false and data.workers=2 the bad image is met in a DataLoader worker, which torch
    re-raises in the main process: the same message (the image named, the fix), exit 2, not 'unexpected error'."""
    root = _copy(tiny_bench, tmp_path)
    victim = sorted((root / "Market-1501-v15.09.15" / "bounding_box_train").iterdir())[3]
    victim.write_bytes(b"not a jpeg")
    code, err = _train(capsys, root, tmp_path / "out", "data.verify_images=false", "data.workers=2")
    _assert_clean_error(code, err, "cannot decode image (cannot identify image file)", f"where: {victim}")
    assert "unexpected error" not in err and "Traceback" not in err


def test_init_from_checkpoint_of_another_architecture(capsys, tiny_bench, tmp_path) -> None:
    assert _train(capsys, tiny_bench, tmp_path / "small", variant="direct")[0] == 0
    code, err = _train(capsys, tiny_bench, tmp_path / "out", f"train.init={tmp_path / 'small' / 'model.pt'}",
                       "model.backbone=resnet18", "model.last_stride=1")
    _assert_clean_error(code, err, "another encoder architecture")


def test_truncated_checkpoint_on_resume(capsys, tiny_bench, tmp_path) -> None:
    assert _train(capsys, tiny_bench, tmp_path / "out", argv=("--keep-last",))[0] == 0
    last = tmp_path / "out" / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])
    code, err = _train(capsys, tiny_bench, tmp_path / "out", "optim.iterations=3", argv=("--resume",))
    _assert_clean_error(code, err, "truncated or corrupt", str(last))


def test_files_that_are_no_checkpoint(capsys, tmp_path) -> None:
    """A log, random bytes or an image passed as --checkpoint: what the file is, named, exit 2; never torch's advice
    to load untrusted pickles with weights_only=False."""
    rng = __import__("random").Random(0)
    files = {"train.log": b"2024-01-01 INFO variant full\n", "noise.pt": bytes(rng.getrandbits(8) for _ in range(64)),
             "pop.pt": b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01ctorch\n", "photo.jpg": JPEG_BYTES}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        code = main(["evaluate", "--checkpoint", str(tmp_path / name), "--device", "cpu"])
        err = capsys.readouterr().err
        _assert_clean_error(code, err, f"where: {tmp_path / name}")
        assert "weights_only" not in err and "unexpected error" not in err, err


def test_debug_shows_traceback(capsys, tmp_path) -> None:
    assert main(["--debug", "datasets", "--data-root", str(tmp_path / "x")]) == 2
    assert "Traceback" in capsys.readouterr().err
