"""Supervised classifier: the flowgmm-ae encoder with a linear head, trained with binary
cross-entropy on unlabeled images taken as normal against the labeled anomalies.

The two classes are weighted equally whatever their batch sizes (class-balanced, as if sampled
1:1). Score: the predicted anomaly probability. This is the simple way to use the same few labels
that the mixture prior must beat.
"""

from __future__ import annotations

import numpy as np
import torch

from flowgmm_ae.baselines.common import EncoderWithHead, balanced_bce, batched_scores
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.methods import Method, StepLoss, register_method


@register_method
class SupervisedBaseline(Method):
    name = "supervised"
    score_names = ("probability",)
    default_score = "probability"

    def build(self, config: TrainConfig, in_channels: int) -> EncoderWithHead:
        return EncoderWithHead(config, in_channels)

    def loss(self, model, x_unlabeled, x_labeled, y_labeled, config) -> StepLoss:
        return balanced_bce(model(torch.cat([x_unlabeled, x_labeled])), len(x_unlabeled))

    def raw_scores(self, model, images, device) -> dict[str, np.ndarray]:
        return {"probability": batched_scores(model, images, lambda m, x: torch.sigmoid(m(x)), device)}

    def log_odds(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        p = np.clip(scores["probability"], 1e-12, 1 - 1e-12)
        return np.log(p) - np.log1p(-p)
