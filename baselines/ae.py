"""Plain convolutional autoencoder: AE-FLOW's encoder and decoder without the flow.

Trained on the unlabeled images with the 1 − SSIM reconstruction loss and scored by 1 − SSIM,
it isolates what the flow adds. Unsupervised: labeled anomalies are not used.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from flowgmm_ae.baselines.common import batched_scores, make_decoder, make_encoder
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.methods import Method, StepLoss, register_method
from flowgmm_ae.objectives import structural_dissimilarity


class Autoencoder(nn.Module):
    def __init__(self, config: TrainConfig, in_channels: int) -> None:
        super().__init__()
        self.encoder = make_encoder(config, in_channels)
        self.decoder = make_decoder(config, in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


@register_method
class AutoencoderBaseline(Method):
    name = "ae"
    score_names = ("recon",)
    default_score = "recon"

    def uses_labels(self, config: TrainConfig) -> bool:
        return False

    def build(self, config: TrainConfig, in_channels: int) -> Autoencoder:
        return Autoencoder(config, in_channels)

    def loss(self, model, x_unlabeled, x_labeled, y_labeled, config) -> StepLoss:
        recon = structural_dissimilarity(x_unlabeled, model(x_unlabeled)).mean()
        return StepLoss(recon, {"recon": float(recon.detach())})

    def raw_scores(self, model, images, device) -> dict[str, np.ndarray]:
        return {
            "recon": batched_scores(model, images, lambda m, x: structural_dissimilarity(x, m(x)), device)
        }
