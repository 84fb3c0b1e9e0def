"""Containers shared by every data set: images as float tensors in [0, 1], labels 0 normal / 1 anomaly."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from flowgmm_ae.errors import FlowgmmAEError

NORMAL_LABEL, ANOMALY_LABEL = 0, 1


class DataError(FlowgmmAEError):
    """A data set is missing, malformed or cannot serve the requested protocol.

    The message is meant for the user: it says what was wrong and how to fix it."""


@dataclass
class Split:
    """One split: images (N, C, H, W) float32 in [0, 1] and labels (N,) in {0, 1}."""

    images: torch.Tensor
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise DataError(f"images must be (N, C, H, W), got shape {tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise DataError(f"{len(self.images)} images but {len(self.labels)} labels")
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        bad = set(np.unique(self.labels).tolist()) - {NORMAL_LABEL, ANOMALY_LABEL}
        if bad:
            raise DataError(f"labels must be 0 (normal) or 1 (anomaly), found {sorted(bad)}")

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        return {
            "normal": int((self.labels == NORMAL_LABEL).sum()),
            "anomaly": int((self.labels == ANOMALY_LABEL).sum()),
        }


@dataclass
class ImageDataset:
    """A data set with train, val and test splits, and where it came from."""

    name: str
    train: Split
    val: Split
    test: Split
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def in_channels(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train.images.shape[-1])

    def summary(self) -> dict[str, dict[str, int]]:
        return {name: getattr(self, name).counts() for name in ("train", "val", "test")}
