"""Plain CNN classifier: a strong supervised reference, unlabeled images taken as normal.

Unlike ``supervised`` (AE-FLOW's GroupNorm encoder with a linear head, kept as it is so that
older tables stay reproducible) this is an ordinary small image classifier, written to match an
independently written CNN that beat both ``supervised`` and flowgmm-ae on the same splits:

- at image size ≥ 64 a stem: 5 × 5 convolution, stride 2, 16 channels, BatchNorm, ReLU;
- four blocks of 3 × 3 convolution (padding 1), BatchNorm, ReLU and 2 × 2 max-pooling, with 32,
  64, 128 and 256 channels (a block skips its pooling when the map is already smaller than 2, so
  that tiny images, e.g. 16 px in the tests, still work);
- global average pooling, dropout 0.3 and one linear output, the logit (about 0.39 M parameters
  for grey images).

Loss: binary cross-entropy with the two classes weighted equally whatever their batch sizes
(class-balanced, as ``supervised``), on unlabeled images (normal) and labeled anomalies, with
random horizontal flips (:data:`FLIP`) on top of the loop's shifts and intensity jitter. Adam with
weight decay at least :data:`WEIGHT_DECAY`. Score: the logit, not the probability: a sigmoid
saturates to ties at 1.0 for confident anomalies, which blunts the ranking metrics. Scores are
computed in eval mode (BatchNorm's running statistics, no dropout).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from flowgmm_ae.baselines.common import balanced_bce, batched_scores
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.methods import Method, StepLoss, register_method

# Random horizontal flips of every training image (probability 1/2, drawn from torch's global RNG,
# which the loop seeds and checkpoints). True as in the reference CNN; set False to train without.
FLIP = True
WEIGHT_DECAY = 1e-4  # Adam's (L2) weight decay: the larger of this and --weight-decay
DROPOUT = 0.3
WIDTHS = (32, 64, 128, 256)
STEM_WIDTH = 16
STEM_MIN_SIZE = 64  # images at least this large get the stride-2 stem


class ConvBlock(nn.Module):
    """3 × 3 convolution → BatchNorm → ReLU → 2 × 2 max-pool (skipped on a map smaller than 2)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        # No convolution bias: BatchNorm's shift makes it redundant.
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.conv(x)))
        return self.pool(x) if min(x.shape[-2:]) >= 2 else x


class PlainCNN(nn.Module):
    """(B, C, H, W) images → (B,) logits of being an anomaly."""

    def __init__(self, in_channels: int = 1, image_size: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_prev = in_channels
        if image_size >= STEM_MIN_SIZE:
            layers += [
                nn.Conv2d(in_channels, STEM_WIDTH, 5, stride=2, padding=2, bias=False),
                nn.BatchNorm2d(STEM_WIDTH),
                nn.ReLU(),
            ]
            c_prev = STEM_WIDTH
        for width in WIDTHS:
            layers.append(ConvBlock(c_prev, width))
            c_prev = width
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(DROPOUT)
        self.head = nn.Linear(c_prev, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.head(self.dropout(pooled)).squeeze(1)


def random_hflip(x: torch.Tensor) -> torch.Tensor:
    """Each image flipped left–right with probability 1/2. The coin flips are drawn on the CPU from
    torch's global generator (seeded by the loop and saved in its checkpoints, so a resumed run
    draws the same flips), whatever the device."""
    flip = (torch.rand(len(x)) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)


@register_method
class CNNBaseline(Method):
    name = "cnn"
    score_names = ("logit",)
    default_score = "logit"

    def build(self, config: TrainConfig, in_channels: int) -> PlainCNN:
        return PlainCNN(in_channels, config.image_size)

    def optimizer_options(self, config: TrainConfig) -> dict:
        return {"lr": config.lr, "weight_decay": max(config.weight_decay, WEIGHT_DECAY)}

    def loss(self, model, x_unlabeled, x_labeled, y_labeled, config) -> StepLoss:
        x = torch.cat([x_unlabeled, x_labeled])
        if FLIP:
            x = random_hflip(x)
        return balanced_bce(model(x), len(x_unlabeled))

    def raw_scores(self, model, images, device) -> dict[str, np.ndarray]:
        return {"logit": batched_scores(model, images, lambda m, x: m(x), device)}

    def log_odds(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        return scores["logit"]
