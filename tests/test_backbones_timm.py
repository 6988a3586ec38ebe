"""timm:NAME backbones: built with pretrained weights off (no test downloads), trained, exported, and refused
when they give no feature map, have no such model, or cannot drop their last stride."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from test_backbones import _train_and_export
from torch import nn

from raereid.errors import CheckpointError, ConfigError
from raereid.models import Encoder
from raereid.tools.inputs import open_model

timm = pytest.importorskip("timm")


def test_timm_model_trains_and_exports(tiny_bench: Path, tmp_path: Path) -> None:
    diff = _train_and_export(tiny_bench, tmp_path, "model.backbone=timm:test_resnet", "model.last_stride=1")
    model = open_model(tmp_path / "run" / "model.pt").model
    assert model.encoder.out_channels == 96 and model.map_size == (4, 2) and diff <= 1e-4


def test_timm_last_stride() -> None:
    assert Encoder("timm:resnet18", "none", last_stride=1).map_size((64, 32)) == (4, 2)
    assert Encoder("timm:resnet18", "none", last_stride=2).map_size((64, 32)) == (2, 1)
    with pytest.raises(ConfigError, match="last_stride=1 is not supported for timm:test_convnext"):
        Encoder("timm:test_convnext", "none", last_stride=1)
    assert Encoder("timm:test_convnext", "none", last_stride=2).out_channels == 64


def test_timm_local_weights(tmp_path: Path) -> None:
    reference = timm.create_model("test_resnet", pretrained=False)
    torch.save(reference.state_dict(), tmp_path / "w.pth")
    with pytest.warns(UserWarning, match=r"timm:test_resnet was pretrained on images normalised with mean \(0.5"):
        enc = Encoder("timm:test_resnet", str(tmp_path / "w.pth"), last_stride=2)
    ref = reference.state_dict()
    own = enc.body.model.state_dict()
    assert len(own) > 10 and all(torch.equal(v, ref[k]) for k, v in own.items())
    torch.save(timm.create_model("resnet18", pretrained=False).state_dict(), tmp_path / "r18.pth")
    with pytest.raises(CheckpointError, match="do not fit timm's test_resnet"):
        Encoder("timm:test_resnet", str(tmp_path / "r18.pth"), last_stride=2)


def test_timm_model_without_a_feature_map_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    create = timm.create_model

    def no_feature_extractor(name: str, **kwargs: object) -> nn.Module:  # as timm for models it cannot cut
        if kwargs.get("features_only"):
            raise RuntimeError(f"features_only not implemented for {name}")
        return create(name, **kwargs)

    monkeypatch.setattr(timm, "create_model", no_feature_extractor)
    tokens = r"timm:test_vit has no feature map.*forward_features gives 1 x \d+ x 64 \(tokens\?\)"
    with pytest.raises(ConfigError, match=tokens):
        Encoder("timm:test_vit", "none")
    enc = Encoder("timm:test_resnet", "none", last_stride=2)  # a CNN's forward_features is a map: accepted
    assert enc.out_channels == 96 and enc.map_size((64, 32)) == (2, 1)


def test_timm_names_and_input_sizes_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="timm has no model 'no_such_net'"):
        Encoder("timm:no_such_net", "none")
    with pytest.raises(ConfigError, match=r"timm:swin_tiny_patch4_window7_224 cannot encode 64x32 images"):
        Encoder("timm:swin_tiny_patch4_window7_224", "none", last_stride=2).map_size((64, 32))
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(ConfigError, match=r"(?s)needs timm.*pip install 'raereid\[timm\]'"):
        Encoder("timm:test_resnet", "none")
