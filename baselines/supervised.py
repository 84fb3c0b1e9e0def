"""Supervised classifier: the flowgmm-ae encoder with a linear head, trained with binary
cross-entropy on unlabeled images taken as normal against the labeled anomalies.

The two classes are weighted equally whatever their batch sizes (class-balanced, as if sampled
1:1). Score: the predicted anomaly probability. This is the simple way to use the same few labels
that the mixture prior must beat.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from baselines.common import EncoderWithHead, batched_scores
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.methods import Method, StepLoss


class SupervisedBaseline(Method):
    name = "supervised"
    score_names = ("probability",)
    default_score = "probability"

    def build(self, config: TrainConfig, in_channels: int) -> EncoderWithHead:
        return EncoderWithHead(config, in_channels)

    def loss(self, model, x_unlabeled, x_labeled, y_labeled, config) -> StepLoss:
        logits = model(torch.cat([x_unlabeled, x_labeled]))
        n_u = len(x_unlabeled)
        normal = F.binary_cross_entropy_with_logits(logits[:n_u], torch.zeros_like(logits[:n_u]))
        if len(x_labeled):
            anomaly = F.binary_cross_entropy_with_logits(logits[n_u:], torch.ones_like(logits[n_u:]))
            total = 0.5 * (normal + anomaly)
        else:
            anomaly, total = torch.zeros(()), normal
        return StepLoss(
            total,
            {
                "loss": float(total.detach()),
                "bce_normal": float(normal.detach()),
                "bce_anomaly": float(anomaly.detach()),
            },
        )

    def raw_scores(self, model, images, device) -> dict[str, np.ndarray]:
        return {"probability": batched_scores(model, images, lambda m, x: torch.sigmoid(m(x)), device)}
