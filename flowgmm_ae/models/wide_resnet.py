"""AE-FLOW's published encoder: a Wide-ResNet-50-2 trunk through layer3 (1024 channels, stride 16).

Written in plain torch (torchvision does not install beside this project's torch) with the same
module names as ``torchvision.models.wide_resnet50_2``, so that its ImageNet state dict, saved by
the user as a file, loads with :func:`load_torchvision_weights` (layer4 and fc are ignored).
Weights cannot be downloaded here; without them the trunk starts from random initialisation.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from flowgmm_ae.errors import FlowgmmAEError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TRUNK_CHANNELS = 1024
TRUNK_STRIDE = 16


class Bottleneck(nn.Module):
    """torchvision's ResNet v1.5 bottleneck (stride on the 3 × 3 convolution)."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, width_factor: int = 2) -> None:
        super().__init__()
        width = planes * width_factor
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class WideResNet50Trunk(nn.Module):
    """conv1 … layer3 of Wide-ResNet-50-2: (B, 3, H, W) → (B, 1024, H/16, W/16)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._layer(64, 64, blocks=3, stride=1)
        self.layer2 = self._layer(256, 128, blocks=4, stride=2)
        self.layer3 = self._layer(512, 256, blocks=6, stride=2)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def _layer(in_channels: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = [Bottleneck(in_channels, planes, stride)]
        layers += [Bottleneck(planes * Bottleneck.expansion, planes) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))


def load_torchvision_weights(trunk: WideResNet50Trunk, path: str | os.PathLike) -> list[str]:
    """Load a ``wide_resnet50_2`` state dict saved with ``torch.save`` (or as safetensors) into
    ``trunk``; returns the keys it ignored (layer4, fc). Missing or mis-shaped keys are an error."""
    path = Path(path).expanduser()
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # missing file, not a state dict, a refused pickle payload
        raise FlowgmmAEError(f"could not read encoder weights {path}: {error}") from error
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise FlowgmmAEError(f"{path} does not hold a state dict")
    own = trunk.state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        raise FlowgmmAEError(
            f"{path} is not a wide_resnet50_2 state dict: {len(missing)} trunk key(s) missing, e.g. "
            + ", ".join(missing[:3])
        )
    wrong = [k for k in own if tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong:
        raise FlowgmmAEError(f"{path}: shapes differ from wide_resnet50_2 for {', '.join(wrong[:3])}")
    trunk.load_state_dict({k: state[k] for k in own})
    return sorted(set(state) - set(own))


class PretrainedEncoder(nn.Module):
    """Grey or RGB images in [0, 1] → ImageNet-normalised RGB → Wide-ResNet trunk → 1 × 1
    projection to the latent channels. With ``frozen`` the trunk is neither trained nor has its
    batch-norm statistics updated (AE-FLOW keeps it fixed); the projection always trains."""

    def __init__(self, in_channels: int, latent_channels: int, frozen: bool = True) -> None:
        super().__init__()
        self.in_channels, self.frozen = in_channels, frozen
        self.trunk = WideResNet50Trunk()
        self.project = nn.Conv2d(TRUNK_CHANNELS, latent_channels, 1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        if frozen:
            self.trunk.requires_grad_(False)

    def train(self, mode: bool = True) -> PretrainedEncoder:
        super().train(mode)
        if self.frozen:
            self.trunk.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std
        if self.frozen:
            with torch.no_grad():
                features = self.trunk(x)
        else:
            features = self.trunk(x)
        return self.project(features)
