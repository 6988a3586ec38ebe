"""Batch norm over the global batch of a CPU (gloo) process group.

torch's SyncBatchNorm runs only on GPUs; on CUDA raereid uses it. For distributed runs on CPUs this
layer all-reduces each batch's per-channel sum, sum of squares and count (differentiably), so the
statistics, and hence the training step, are those of the whole batch whatever the number of processes.

Both conversions keep what timm's `BatchNormAct2d` (batch norm, dropout and activation in one layer, as in
timm's EfficientNets, MobileNets, RegNets) adds to a batch norm: on CUDA through timm's own
`convert_sync_batchnorm` (to its `SyncBatchNormAct`), on CPUs as a `GlobalBatchNormAct`.
"""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm1d/2d whose training statistics are all-reduced over the default process group."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 3, 4):
            raise ValueError(f"expected a 2-D to 4-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(x)
        import torch.distributed.nn.functional as dist_fn

        dims = [0, *range(2, x.dim())]
        c = x.shape[1]
        local = torch.cat([x.sum(dims), (x * x).sum(dims), x.new_tensor([x.numel() / c])])
        total = dist_fn.all_reduce(local)
        n = total[-1]
        mean = total[:c] / n
        var = (total[c : 2 * c] / n - mean * mean).clamp_min(0.0)
        if self.track_running_stats:
            with torch.no_grad():
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked + 1)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1), alpha=m)
                self.num_batches_tracked.add_(1)
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


class GlobalBatchNormAct(GlobalBatchNorm):
    """GlobalBatchNorm followed by the dropout and activation of the timm BatchNormAct2d it replaces."""

    def __init__(self, num_features: int, eps: float, momentum: float | None, affine: bool,
                 track_running_stats: bool, drop: nn.Module, act: nn.Module):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.drop, self.act = drop, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.drop(super().forward(x)))


def _timm_norm_act() -> type | None:
    """timm's BatchNormAct2d class if timm is loaded (a model holding one has loaded it), else None."""
    if "timm" not in sys.modules:
        return None
    from timm.layers import BatchNormAct2d

    return BatchNormAct2d


def convert_to_global_bn(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d/2d of `module` by a GlobalBatchNorm with the same parameters and buffers
    (a GlobalBatchNormAct for timm's BatchNormAct2d, which keeps its dropout and activation)."""
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        args = (module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
        norm_act = _timm_norm_act()
        if norm_act is not None and isinstance(module, norm_act):
            new = GlobalBatchNormAct(*args, drop=module.drop, act=module.act)
        else:
            new = GlobalBatchNorm(*args)
        _carry_buffers(dict(module._buffers), new)
        new.load_state_dict(module.state_dict())
        if module.affine:
            new.weight.requires_grad_(module.weight.requires_grad)
            new.bias.requires_grad_(module.bias.requires_grad)
        return new
    for name, child in module.named_children():
        setattr(module, name, convert_to_global_bn(child))
    return module


def convert_to_sync_bn(module: nn.Module) -> nn.Module:
    """torch's SyncBatchNorm for every batch norm of `module` (CUDA); through timm's conversion when the model
    has timm BatchNormAct2d layers, which torch's would turn into plain batch norms without their activation."""
    before = {name: dict(m._buffers) for name, m in module.named_modules() if isinstance(m, _BatchNorm)}
    norm_act = _timm_norm_act()
    if norm_act is not None and any(isinstance(m, norm_act) for m in module.modules()):
        from timm.layers import convert_sync_batchnorm

        converted = convert_sync_batchnorm(module)
    else:
        converted = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, m in converted.named_modules():
        _carry_buffers(before.get(name, {}), m)
    return converted


def _carry_buffers(buffers: dict[str, torch.Tensor | None], new: nn.Module) -> None:
    """Register on the converted `new` every buffer of the original batch norm it lacks (the recurrent pass's
    statistics, `model.recurrent_bn: own`): torch's and timm's conversions create only a batch norm's own buffers."""
    for name, buffer in buffers.items():
        if buffer is not None and name not in new._buffers:
            new.register_buffer(name, buffer)
