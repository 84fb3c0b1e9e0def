"""Pieces the baselines share: the flowgmm-ae encoder with a linear scoring head, and batched,
gradient-free scoring in eval mode."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from flowgmm_ae.config import TrainConfig
from flowgmm_ae.methods import StepLoss
from flowgmm_ae.models import Decoder, Encoder


def _architecture(config: TrainConfig, in_channels: int, bias: bool) -> dict:
    model_config = config.model_config(in_channels)
    return dict(
        latent_channels=model_config.latent_channels,
        stride=model_config.stride,
        base_width=model_config.base_width,
        max_width=model_config.max_width,
        bias=bias,
        norm=model_config.norm,
    )


def make_encoder(config: TrainConfig, in_channels: int, bias: bool = True) -> Encoder:
    """flowgmm-ae's convolutional encoder with the run's architecture options."""
    return Encoder(in_channels=in_channels, **_architecture(config, in_channels, bias))


def make_decoder(config: TrainConfig, in_channels: int, bias: bool = True) -> Decoder:
    """flowgmm-ae's decoder, mirroring :func:`make_encoder`."""
    return Decoder(out_channels=in_channels, **_architecture(config, in_channels, bias))


class EncoderWithHead(nn.Module):
    """Encoder → flatten → linear: one real-valued output per image."""

    def __init__(self, config: TrainConfig, in_channels: int) -> None:
        super().__init__()
        self.encoder = make_encoder(config, in_channels)
        self.head = nn.Linear(config.model_config(in_channels).latent_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x).flatten(1)).squeeze(1)


@torch.no_grad()
def batched_scores(
    model: nn.Module,
    images: torch.Tensor,
    score_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    device: torch.device | str,
    batch_size: int = 256,
) -> np.ndarray:
    """``score_fn(model, batch)`` over all images in eval mode, as float64 numpy."""
    was_training = model.training
    model.eval()
    parts = [
        score_fn(model, images[i : i + batch_size].to(device)).float().cpu().numpy()
        for i in range(0, len(images), batch_size)
    ]
    model.train(was_training)
    return np.concatenate(parts).astype(np.float64)


def balanced_bce(logits: torch.Tensor, n_normal: int) -> StepLoss:
    """Class-balanced binary cross-entropy: the first ``n_normal`` logits are normal (target 0), the
    rest anomalies (target 1); each class weighs 1/2 whatever its batch size (the normal part alone
    without anomalies). Logs both parts."""
    normal = F.binary_cross_entropy_with_logits(logits[:n_normal], torch.zeros_like(logits[:n_normal]))
    if len(logits) > n_normal:
        anomalous = logits[n_normal:]
        anomaly = F.binary_cross_entropy_with_logits(anomalous, torch.ones_like(anomalous))
        total = 0.5 * (normal + anomaly)
    else:
        anomaly, total = torch.zeros((), device=logits.device), normal
    parts = {"loss": float(total.detach()), "bce_normal": float(normal.detach())}
    return StepLoss(total, {**parts, "bce_anomaly": float(anomaly.detach())})
