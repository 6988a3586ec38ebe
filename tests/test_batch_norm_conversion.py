"""Batch norm over the global batch for distributed runs (train.sync_bn): the converted network computes what the
original did, including timm's BatchNormAct2d layers, whose activation a plain conversion would drop."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from raereid.models import Encoder
from raereid.models.global_bn import GlobalBatchNorm, GlobalBatchNormAct, convert_to_global_bn, convert_to_sync_bn


def _with_statistics(model: nn.Module) -> nn.Module:
    """`model` with random running statistics and affine parameters in every batch norm (eval mode is then no
    identity)."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
    return model


def _outputs(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(eval-mode, train-mode) outputs; train mode on one process normalises with the batch's own statistics (on a
    copy: it updates the running statistics)."""
    with torch.no_grad():
        evaluated = model.eval()(x)
        trained = copy.deepcopy(model).train()(x)
    return evaluated, trained


@pytest.mark.parametrize("convert, layer", [(convert_to_global_bn, GlobalBatchNorm),
                                            (convert_to_sync_bn, nn.SyncBatchNorm)])
def test_plain_batch_norms_convert_to_the_same_network(convert, layer) -> None:
    torch.manual_seed(0)
    model = _with_statistics(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                                           nn.Linear(8 * 6 * 6, 4), nn.BatchNorm1d(4)))
    x = torch.randn(5, 3, 8, 8)
    before = _outputs(model, x)
    converted = convert(model)
    assert [type(m) for m in converted.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)] == [layer, layer]
    for a, b in zip(before, _outputs(converted, x)):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("convert", [convert_to_global_bn, convert_to_sync_bn])
def test_the_recurrent_pass_statistics_survive_the_conversion(convert) -> None:
    """model.recurrent_bn=own keeps statistics of the recurrent pass in extra buffers of each batch norm; a DDP run
    converts the batch norms, and must keep them (values and names) so that the recurrent pass can use them."""
    from raereid.models.recurrent_bn import add_recurrent_stats, has_recurrent_stats

    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    add_recurrent_stats(model)
    model[1].recurrent_running_mean.copy_(torch.arange(8.0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    converted = convert(model)
    assert has_recurrent_stats(converted)
    after = converted.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        torch.testing.assert_close(after[key], value)


@pytest.mark.parametrize("convert, layer", [(convert_to_global_bn, GlobalBatchNormAct),
                                            (convert_to_sync_bn, "SyncBatchNormAct")])
def test_timm_batch_norm_act_keeps_its_activation(convert, layer) -> None:
    timm = pytest.importorskip("timm")
    encoder = _with_statistics(Encoder("timm:test_efficientnet", "none", last_stride=2))
    norm_acts = [m for m in encoder.modules() if isinstance(m, timm.layers.BatchNormAct2d)]
    assert norm_acts and any(not isinstance(m.act, nn.Identity) for m in norm_acts)  # the case under test
    layer = getattr(timm.layers, layer) if isinstance(layer, str) else layer
    x = torch.randn(4, 3, 64, 32, generator=torch.Generator().manual_seed(1))
    before = _outputs(encoder, x)
    converted = convert(encoder)
    assert not any(isinstance(m, timm.layers.BatchNormAct2d) for m in converted.modules())
    assert sum(isinstance(m, layer) for m in converted.modules()) == len(norm_acts)
    for a, b in zip(before, _outputs(converted, x)):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_a_conversion_that_ignores_timm_would_change_the_network() -> None:
    """What the timm-aware conversion prevents: torch's own drops the activations (the previous behaviour)."""
    pytest.importorskip("timm")
    encoder = _with_statistics(Encoder("timm:test_efficientnet", "none", last_stride=2))
    x = torch.randn(4, 3, 64, 32, generator=torch.Generator().manual_seed(1))
    before = _outputs(encoder, x)[0]
    plain = nn.SyncBatchNorm.convert_sync_batchnorm(encoder)
    assert not torch.allclose(_outputs(plain, x)[0], before, rtol=1e-3, atol=1e-3)
