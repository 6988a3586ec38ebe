"""CycleGAN's networks for the pre-pixel-transfer row (Table IV's P^T), from torch building blocks.

`ResnetGenerator`: reflection padding, instance norm, `downsamplings` strided convolutions, residual
blocks, as many transposed convolutions back, tanh to [-1, 1]. `PatchDiscriminator`: the PatchGAN
of Isola et al. (4x4 convolutions, LeakyReLU 0.2, instance norm), one real/fake score per patch; with
`layers = 3` its patches are 70x70 (the paper-scale input 256x128), fewer layers give smaller patches
for smaller inputs (`patch_size`). `ImagePool`: the history of generated images its discriminators also see.
"""

from __future__ import annotations

import torch
from torch import nn


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=False)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with reflection padding and instance norm, added to the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Image -> image of the same size in [-1, 1] (Johnson et al.'s network, as CycleGAN uses it)."""

    def __init__(self, channels: int = 64, blocks: int = 9, downsamplings: int = 2):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, channels, 7), _norm(channels),
                                   nn.ReLU(inplace=True)]
        width = channels
        for _ in range(downsamplings):
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1), _norm(width * 2), nn.ReLU(inplace=True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(blocks)]
        for _ in range(downsamplings):
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(width // 2), nn.ReLU(inplace=True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, 3, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.stride = 2**downsamplings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """Image -> map of real/fake scores, one per overlapping patch (LSGAN: no sigmoid)."""

    def __init__(self, channels: int = 64, layers: int = 3):
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv2d(3, channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        width = channels
        for i in range(1, layers + 1):
            out = channels * min(2**i, 8)
            stride = 2 if i < layers else 1
            blocks += [nn.Conv2d(width, out, 4, stride=stride, padding=1), _norm(out), nn.LeakyReLU(0.2, inplace=True)]
            width = out
        blocks.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*blocks)
        self.layers = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def patch_size(layers: int) -> int:
    """Side of the input patch one score of a `layers`-layer PatchDiscriminator sees (70 for 3 layers)."""
    size = 4 + 3  # the two stride-1 convolutions at the end
    for _ in range(layers):
        size = size * 2 + 2
    return size


class CycleGAN(nn.Module):
    """The two generators (source -> target style, target -> source style) and their discriminators."""

    def __init__(self, gen_channels: int, gen_blocks: int, downsamplings: int, disc_channels: int, disc_layers: int):
        super().__init__()
        self.to_target = ResnetGenerator(gen_channels, gen_blocks, downsamplings)
        self.to_source = ResnetGenerator(gen_channels, gen_blocks, downsamplings)
        self.dis_target = PatchDiscriminator(disc_channels, disc_layers)
        self.dis_source = PatchDiscriminator(disc_channels, disc_layers)

    def generators(self) -> list[nn.Module]:
        return [self.to_target, self.to_source]

    def discriminators(self) -> list[nn.Module]:
        return [self.dis_target, self.dis_source]


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """CycleGAN's initialisation: convolution weights from N(0, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class ImagePool:
    """Shrivastava et al.'s history of generated images (CycleGAN's pool): once full, each new image is
    either shown to the discriminator (and kept for later) or swapped for an older one, at random.

    Its own random generator (saved with the images) keeps it independent of anything else drawing numbers."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                j = int(torch.randint(len(self.images), (), generator=self.generator).item())
                out.append(self.images[j].clone())
                self.images[j] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> dict:
        return {"images": torch.stack(self.images).cpu() if self.images else None, "rng": self.generator.get_state()}

    def load(self, state: dict, device: torch.device) -> None:
        self.images = [] if state["images"] is None else [im.to(device) for im in state["images"]]
        self.generator.set_state(state["rng"])
