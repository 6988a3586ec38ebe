"""`raereid translate` (Table IV's pre-pixel transfer): the CycleGAN translator trains and resumes exactly,
the translated dataset keeps the source's layout, names, ids and cameras, and bad inputs exit 2."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from conftest import market_tree, msmt_tree, tiny_overrides, write_image
from PIL import Image

from raereid.cli.main import main
from raereid.config import load_config
from raereid.data.registry import discover, load_dataset
from raereid.data.translated import translated_files, write_translated_dataset
from raereid.engine.checkpoint import load_checkpoint
from raereid.errors import ConfigError
from raereid.translator import training
from raereid.translator.network import PatchDiscriminator, ResnetGenerator, patch_size

ITERATIONS = 4


def tiny_translate(root: Path, *extra: str) -> list[str]:
    """`raereid translate` flags for a seconds-long CPU run on the tiny benchmark."""
    sets = [
        f"translate.iterations={ITERATIONS}", "translate.lr_decay_start=2", "translate.height=32", "translate.width=16",
        "translate.batch_size=2", "translate.generator_channels=4", "translate.generator_blocks=1",
        "translate.downsamplings=1", "translate.discriminator_channels=4", "translate.discriminator_layers=1",
        "translate.pool_size=2", "translate.workers=0", "translate.checkpoint_every=1", "translate.log_every=1",
        "translate.sample_images=3", "train.device=cpu", *extra,
    ]
    return ["--config", "translate-synthetic", "--data-root", str(root), *[a for kv in sets for a in ("--set", kv)]]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One thread for the whole module, set before `straight` runs: float results then match across runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def straight(tiny_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted translation of the tiny benchmark's Duke-style source into the Market style."""
    out = tmp_path_factory.mktemp("translate") / "straight"
    assert main(["translate", *tiny_translate(tiny_bench), "--out", str(out)]) == 0
    return out


def _networks(out: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(out / "translator" / "translator.pt")["networks"]


def test_networks_keep_the_image_size_and_patch_sizes() -> None:
    x = torch.randn(2, 3, 64, 32)
    assert ResnetGenerator(8, 2, 2)(x).shape == x.shape
    assert PatchDiscriminator(8, 2)(x).shape[:2] == (2, 1)
    assert [patch_size(n) for n in (1, 2, 3)] == [16, 34, 70]  # 70x70 PatchGAN at 3 layers


def test_translation_keeps_names_ids_cameras_and_sizes(tiny_bench: Path, straight: Path) -> None:
    source, written = load_dataset("dukemtmcreid", tiny_bench), load_dataset(str(straight / "DukeMTMC-reID"))
    assert written.name == "dukemtmcreid" and written.stats() == source.stats()
    for split in ("train", "query", "gallery"):
        before = [(Path(r.path).relative_to(source.root.resolve()), r.pid, r.camid) for r in getattr(source, split)]
        after = [(Path(r.path).relative_to(written.root.resolve()), r.pid, r.camid) for r in getattr(written, split)]
        assert before == after, split
    for record in source.train[:5]:
        new = written.root / Path(record.path).relative_to(source.root.resolve())
        with Image.open(record.path) as a, Image.open(new) as b:
            assert a.size == b.size and b.format == "JPEG"
    assert discover(straight)["dukemtmcreid"].stats() == source.stats()  # what `raereid datasets --root OUT` counts
    manifest = json.loads((straight / "translate.json").read_text())
    assert manifest["iterations"] == ITERATIONS and manifest["stats"] == source.stats()
    assert Image.open(straight / "translations.png").size[0] > 0
    assert not [p for p in straight.iterdir() if p.name.endswith(".partial")]


def test_sigint_saves_exits_130_and_resume_is_exact(tiny_bench: Path, tmp_path: Path, straight: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    real = training.TranslatorTrainer.run_step

    def interrupted_step(self: training.TranslatorTrainer) -> dict[str, float]:
        if self.iteration == 2:
            os.kill(os.getpid(), signal.SIGINT)  # caught by the CheckpointHook: save, then stop
        return real(self)

    monkeypatch.setattr(training.TranslatorTrainer, "run_step", interrupted_step)
    out = tmp_path / "out"
    assert main(["translate", *tiny_translate(tiny_bench), "--out", str(out)]) == 130
    assert "--resume" in capsys.readouterr().err
    stopped = int(load_checkpoint(out / "translator" / "checkpoints" / "last.pt")["iteration"])
    assert 2 <= stopped < ITERATIONS and not (out / "DukeMTMC-reID").exists()
    monkeypatch.setattr(training.TranslatorTrainer, "run_step", real)
    assert main(["translate", *tiny_translate(tiny_bench), "--out", str(out), "--resume"]) == 0
    written = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[raereid] translate ")]
    total = len(translated_files(load_dataset("dukemtmcreid", tiny_bench)))
    assert written and written[-1].startswith(f"[raereid] translate {total}/{total} (100%)"), written  # no tqdm bar
    a, b = _networks(straight), _networks(out)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log = (out / "translator" / "train.log").read_text()
    assert f"resumed from {out / 'translator' / 'checkpoints' / 'last.pt'} at iteration {stopped}" in log
    first = min((out / "DukeMTMC-reID" / "bounding_box_train").iterdir())
    assert first.read_bytes() == (straight / "DukeMTMC-reID" / "bounding_box_train" / first.name).read_bytes()


def test_resume_with_another_translator_config_is_refused(tiny_bench: Path, straight: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    assert main(["translate", *tiny_translate(tiny_bench, "translate.lambda_cycle=5"), "--out", str(straight),
                 "--resume"]) == 2
    assert "--resume with a different configuration (translate.lambda_cycle: 10.0 -> 5.0)" in capsys.readouterr().err


def test_msmt17_and_market_layouts_are_mirrored(tmp_path: Path) -> None:
    """Other layouts through the writer: MSMT17's list files copied, Market-1501's junk images mirrored."""
    for tree, name in ((msmt_tree, "msmt17"), (market_tree, "market1501")):
        source = load_dataset(name, tree(tmp_path / "data"))
        folder = write_translated_dataset(source, tmp_path / "out",
                                          lambda images: [im.transpose(Image.FLIP_LEFT_RIGHT) for im in images])
        written = load_dataset(str(folder))
        assert folder.name == source.root.name and written.stats() == source.stats() and written.layout == source.layout
        mirrored = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
        original = sorted(p.relative_to(source.root) for p in source.root.rglob("*")
                          if p.is_file() and p.name != "Thumbs.db")
        assert mirrored == original


def test_translated_source_trains_ft_prept_f(tiny_bench: Path, straight: Path, tmp_path: Path) -> None:
    from raereid.adapt.trainer import Trainer
    from raereid.engine.runtime import setup_runtime

    overrides = tiny_overrides(tiny_bench, tmp_path, "ft+prept+f", 2, f"data.source={straight / 'DukeMTMC-reID'}",
                               "train.gap_picture=false")
    metrics = Trainer(load_config("synthetic", overrides), setup_runtime("cpu")).train()
    assert metrics["iterations"] == 2 and metrics["variant"] == "ft+prept+f" and metrics["source"] == "dukemtmcreid"
    assert f"{straight / 'DukeMTMC-reID'}" in str(load_checkpoint(tmp_path / "model.pt")["config"]["data"]["source"])


def _bad(args: list[str], capsys: pytest.CaptureFixture) -> str:
    assert main(["translate", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "fix:" in err
    return err


def test_bad_inputs_exit_2_with_a_clear_message(tiny_bench: Path, straight: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    base = tiny_translate(tiny_bench)
    duke = tiny_bench / "DukeMTMC-reID"
    assert "source dataset 'nowhere' not found" in _bad([*base, "--source", "nowhere", "--out", str(tmp_path / "o")],
                                                        capsys)
    assert "--target NAME" in _bad([*base, "--target", "elsewhere", "--out", str(tmp_path / "o")], capsys)
    assert "no msmt17 dataset found" in _bad([*base, "--source", "msmt17", "--out", str(tmp_path / "o")], capsys)
    assert "inside the source dataset folder" in _bad([*base, "--out", str(duke / "translated")], capsys)
    assert "inside the source dataset folder" in _bad([*base, "--out", str(duke)], capsys)
    assert "would overwrite the source dataset" in _bad([*base, "--out", str(tiny_bench)], capsys)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "is not a dataset" in _bad([*base, "--source", str(empty), "--out", str(tmp_path / "o")], capsys)
    (empty / "notes.txt").write_text("not a dataset")
    assert "is not a dataset" in _bad([*base, "--source", str(empty / "notes.txt"), "--out", str(tmp_path / "o")],
                                      capsys)
    write_image(tmp_path / "photos" / "a.jpg")
    assert "not a re-ID dataset with identities" in _bad([*base, "--source", str(tmp_path / "photos"), "--out",
                                                          str(tmp_path / "o")], capsys)
    (tmp_path / "file").write_text("x")
    assert "existing file" in _bad([*base, "--out", str(tmp_path / "file")], capsys)
    assert "already holds DukeMTMC-reID" in _bad([*base, "--out", str(straight)], capsys)
    assert "same dataset" in _bad([*base, "--target", "dukemtmcreid", "--out", str(tmp_path / "o")], capsys)
    assert "multiples of 2**translate.downsamplings" in _bad([*base, "--set", "translate.height=31", "--out",
                                                              str(tmp_path / "o")], capsys)
    assert not (tmp_path / "o").exists()


def test_translate_presets() -> None:
    cpu, paper = load_config("translate-synthetic").translate, load_config("translate-paper").translate
    assert (paper.height, paper.width, paper.generator_blocks, paper.discriminator_layers,
            paper.batch_size) == (256, 128, 9, 3, 1)
    assert (paper.lr, paper.beta1, paper.lambda_cycle, paper.lambda_identity, paper.pool_size) == (2e-4, 0.5, 10.0, 0.5,
                                                                                                   50)
    assert (cpu.height, cpu.width) == (load_config("synthetic").data.height, load_config("synthetic").data.width)
    with pytest.raises(ConfigError, match="translate.batch_size"):
        load_config(None, ["translate.batch_size=some"])
