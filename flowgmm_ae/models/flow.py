"""The normalizing flow over the encoder's feature map, built from ``normflows`` Glow steps.

Each step is an affine coupling layer with a sigmoid-bounded scale (it can only contract in the
encoding direction, so it cannot blow up), an invertible 1×1 convolution (LU-parametrised) and
ActNorm (Kingma & Dhariwal, Glow, 2018). In normflows ``inverse`` runs data → latent, which is the
direction used for densities; ``forward`` runs latent → data.
"""

from __future__ import annotations

import warnings

import normflows as nf
import torch
from torch import nn


class LatentFlow(nn.Module):
    """Invertible map f: z (B, c, h, w) → z' with log|det ∂f/∂z| per sample."""

    def __init__(self, channels: int, n_steps: int = 4, hidden_channels: int = 64) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError("the flow's coupling layers need at least 2 latent channels")
        with warnings.catch_warnings():
            # normflows 1.7.3 builds its LU 1x1 convolutions with the deprecated torch.lu.
            warnings.filterwarnings("ignore", message="torch.lu is deprecated")
            self.steps = nn.ModuleList(
                nf.flows.GlowBlock(
                    channels, hidden_channels, scale=True, scale_map="sigmoid", split_mode="channel"
                )
                for _ in range(n_steps)
            )

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode direction: returns (z', log|det ∂z'/∂z|) with the log-det of shape (B,)."""
        log_det = z.new_zeros(z.shape[0])
        for step in self.steps:
            z, step_log_det = step.inverse(z)
            log_det = log_det + step_log_det
        return z, log_det

    def inverse(self, z_prime: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Generative direction: returns (z, log|det ∂z/∂z'|)."""
        log_det = z_prime.new_zeros(z_prime.shape[0])
        for step in reversed(self.steps):
            z_prime, step_log_det = step(z_prime)
            log_det = log_det + step_log_det
        return z_prime, log_det
