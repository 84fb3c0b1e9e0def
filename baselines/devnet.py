"""DevNet: deviation networks (Pang, Shen, van den Hengel, KDD 2019).

A linear scoring head on the flowgmm-ae encoder. Scores are compared with a reference
N(0, 1) prior: dev(x) = (φ(x) − mean(r)) / std(r) over 5000 reference draws r. The deviation loss
pulls unlabeled images (taken as normal) to the reference mean, |dev|, and pushes labeled anomalies
at least ``margin`` = 5 standard deviations above it, max(0, a − dev). Score: φ(x).
"""

from __future__ import annotations

import numpy as np
import torch

from flowgmm_ae.baselines.common import EncoderWithHead, batched_scores
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.methods import Method, StepLoss, register_method

MARGIN = 5.0
N_REFERENCE = 5000


def deviation_loss(scores: torch.Tensor, is_anomaly: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Pang et al.'s eq. (5), averaged over the batch."""
    deviation = (scores - reference.mean()) / reference.std()
    inlier = deviation.abs()
    outlier = torch.clamp(MARGIN - deviation, min=0.0)
    return torch.where(is_anomaly, outlier, inlier).mean()


@register_method
class DevNetBaseline(Method):
    name = "devnet"
    score_names = ("deviation",)
    default_score = "deviation"

    def build(self, config: TrainConfig, in_channels: int) -> EncoderWithHead:
        return EncoderWithHead(config, in_channels)

    def loss(self, model, x_unlabeled, x_labeled, y_labeled, config) -> StepLoss:
        x = torch.cat([x_unlabeled, x_labeled])
        is_anomaly = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        is_anomaly[len(x_unlabeled) :] = True
        reference = torch.randn(N_REFERENCE, device=x.device)
        total = deviation_loss(model(x), is_anomaly, reference)
        return StepLoss(total, {"loss": float(total.detach())})

    def raw_scores(self, model, images, device) -> dict[str, np.ndarray]:
        return {"deviation": batched_scores(model, images, lambda m, x: m(x), device)}
