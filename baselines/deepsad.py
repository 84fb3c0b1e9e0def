"""Deep SAD: deep semi-supervised anomaly detection (Ruff et al., ICLR 2020).

A bias-free encoder φ maps images into a feature space with a centre c. Unlabeled images are pulled
towards c, ‖φ(x) − c‖², and labeled anomalies pushed away through the inverse distance
(‖φ(x) − c‖²)^(−1), weighted by η = 1. As in the paper, the encoder is first pretrained as an
autoencoder on the whole unlabeled set (for a quarter as many steps as the run has, counted in its
time), and c is the mean embedding of 256 unlabeled images after that, with coordinates too close to
0 moved to ±ε. No bias terms anywhere, or
the network could map every image to c. Score: ‖φ(x) − c‖².
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from flowgmm_ae.baselines.common import batched_scores, make_decoder, make_encoder
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data.transforms import augment
from flowgmm_ae.methods import Method, StepLoss, register_method
from flowgmm_ae.objectives import structural_dissimilarity

ETA = 1.0
EPSILON = 0.1


class DeepSADNet(nn.Module):
    """Bias-free encoder (and its decoder, used for pretraining only) plus the centre c."""

    def __init__(self, config: TrainConfig, in_channels: int) -> None:
        super().__init__()
        self.encoder = make_encoder(config, in_channels, bias=False)
        self.decoder = make_decoder(config, in_channels, bias=False)
        self.register_buffer("centre", torch.zeros(config.model_config(in_channels).latent_dim))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).flatten(1)

    def distance(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.embed(x) - self.centre) ** 2).sum(1)


@register_method
class DeepSADBaseline(Method):
    name = "deepsad"
    score_names = ("distance",)
    default_score = "distance"
    pretrain_fraction = 0.25  # autoencoder steps, as a share of the run's steps

    def build(self, config: TrainConfig, in_channels: int) -> DeepSADNet:
        return DeepSADNet(config, in_channels)

    def initialise(self, model: DeepSADNet, x_unlabeled: torch.Tensor, config: TrainConfig) -> None:
        """The centre c: the mean embedding of the (pretrained) encoder."""
        with torch.no_grad():
            model.eval()
            centre = model.embed(x_unlabeled).mean(0)
            model.train()
        small = centre.abs() < EPSILON
        centre[small] = torch.where(centre[small] < 0, -EPSILON, EPSILON)
        model.centre.copy_(centre)

    def pretrain(
        self,
        model: DeepSADNet,
        draw_unlabeled: Callable[[torch.Generator], torch.Tensor],
        steps: int,
        config: TrainConfig,
    ) -> None:
        """Autoencoder (1 − SSIM) pretraining of the encoder on batches of the unlabeled set."""
        autoencoder = nn.Sequential(model.encoder, model.decoder)
        optimizer = torch.optim.Adam(autoencoder.parameters(), lr=config.lr)
        generator = torch.Generator().manual_seed(config.seed + 1)
        for _ in range(steps):
            batch = draw_unlabeled(generator)
            if config.augment:
                batch = augment(batch, generator)
            loss = structural_dissimilarity(batch, autoencoder(batch)).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    def leaves_parameters_unused(self, model, has_labels) -> bool:
        return True  # the decoder serves the pretraining only

    def loss(self, model, x_unlabeled, x_labeled, y_labeled, config) -> StepLoss:
        distance = model.distance(torch.cat([x_unlabeled, x_labeled]))
        n_u = len(x_unlabeled)
        unlabeled = distance[:n_u]
        labeled = ETA * (distance[n_u:] + 1e-6) ** -1.0
        total = torch.cat([unlabeled, labeled]).mean()
        return StepLoss(total, {"loss": float(total.detach()), "dist_u": float(unlabeled.mean().detach())})

    def raw_scores(self, model, images, device) -> dict[str, np.ndarray]:
        return {"distance": batched_scores(model, images, lambda m, x: m.distance(x), device)}
