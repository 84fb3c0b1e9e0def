"""Convolutional encoder and decoder of AE-FLOW, trained from scratch.

The encoder halves the resolution ``log2(stride)`` times and ends in a 1×1 convolution to the
latent channels; the decoder mirrors it and ends in a sigmoid, since images live in [0, 1].

``norm="batch"`` (the package default): BatchNorm + ReLU. In training a sample's features depend
on its batch, but every scoring path runs the model in eval mode, where BatchNorm uses its running
statistics and the score (the flow's density included) is again a function of the image alone. On
PneumoniaMNIST it lifted flowgmm-ae's validation and test AUC on five paired seeds
(benchmarks/results/norm_pneumoniamnist.md). ``norm="group"``: GroupNorm + SiLU, so that a
sample's latent never depends on its batch mates, in training as well (the default before).
"""

from __future__ import annotations

import math
from functools import partial

from torch import nn


def _n_stages(stride: int) -> int:
    stages = int(round(math.log2(stride)))
    if stride < 1 or 2**stages != stride:
        raise ValueError(f"the encoder stride must be a power of two, got {stride}")
    return stages


NORMS = ("group", "batch")


def check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose one of {', '.join(NORMS)}")


def _conv_block(
    c_in: int, c_out: int, stride: int = 1, bias: bool = True, norm: str = "group"
) -> nn.Sequential:
    # Without bias the normalisation has no affine part either (Deep SAD's bias-free networks).
    check_norm(norm)
    conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias)
    if norm == "batch":
        return nn.Sequential(conv, nn.BatchNorm2d(c_out, affine=bias), nn.ReLU())
    return nn.Sequential(conv, nn.GroupNorm(min(8, c_out), c_out, affine=bias), nn.SiLU())


def _widths(stages: int, base_width: int, max_width: int) -> list[int]:
    return [min(base_width * 2**i, max_width) for i in range(stages)]


class Encoder(nn.Module):
    """x (B, C, H, W) → z (B, latent_channels, H/stride, W/stride).

    ``bias=False`` drops every additive parameter (conv biases, the normalisation's affine part), as
    Deep SAD requires to rule out the trivial constant solution. ``norm``: "group" (GroupNorm +
    SiLU) or "batch" (BatchNorm + ReLU)."""

    def __init__(
        self,
        in_channels: int = 1,
        latent_channels: int = 16,
        stride: int = 16,
        base_width: int = 32,
        max_width: int = 256,
        bias: bool = True,
        norm: str = "group",
    ) -> None:
        super().__init__()
        widths = _widths(_n_stages(stride), base_width, max_width)
        block = partial(_conv_block, bias=bias, norm=norm)
        layers: list[nn.Module] = [block(in_channels, base_width)]
        c_prev = base_width
        for width in widths:
            layers += [block(c_prev, width, stride=2), block(width, width)]
            c_prev = width
        layers.append(nn.Conv2d(c_prev, latent_channels, 1, bias=bias))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    """z' (B, latent_channels, h, w) → x̂ (B, C, h·stride, w·stride) in [0, 1].

    Mirrors the encoder's widths per resolution (wide where the map is small, narrow where it is
    large) and uses a single convolution at full resolution: a decoder with the encoder's widths
    reversed spends most of a training step convolving wide maps at high resolution (measured: the
    decoder was 5x the encoder's cost at 32 px)."""

    def __init__(
        self,
        out_channels: int = 1,
        latent_channels: int = 16,
        stride: int = 16,
        base_width: int = 32,
        max_width: int = 256,
        bias: bool = True,
        norm: str = "group",
    ) -> None:
        super().__init__()
        encoder_widths = _widths(_n_stages(stride), base_width, max_width)
        c_prev = encoder_widths[-1] if encoder_widths else base_width
        block = partial(_conv_block, bias=bias, norm=norm)
        layers: list[nn.Module] = [block(latent_channels, c_prev)]
        # Upsampling to the resolution of encoder stage i-1 uses that stage's width; the last
        # upsampling (to full resolution) uses the base width and one convolution only.
        for i in reversed(range(len(encoder_widths))):
            width = encoder_widths[i - 1] if i > 0 else base_width
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), block(c_prev, width)]
            if i > 0:
                layers.append(block(width, width))
            c_prev = width
        layers += [nn.Conv2d(c_prev, out_channels, 3, padding=1, bias=bias), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)
