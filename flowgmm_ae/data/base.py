"""Containers shared by every data set: images as float tensors in [0, 1], labels 0 normal / 1 anomaly."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import torch

from flowgmm_ae.errors import FlowgmmAEError

NORMAL_LABEL, ANOMALY_LABEL = 0, 1
SPLIT_NAMES = ("train", "val", "test")
NO_GROUPS = "no patient ids: official split as published"


class DataError(FlowgmmAEError):
    """A data set is missing, malformed or cannot serve the requested protocol.

    The message is meant for the user: it says what was wrong and how to fix it."""


class ImageArray:
    """uint8 images (N, C, H, W), in memory or memory-mapped from the decoded cache, that read as
    float32 tensors in [0, 1] when indexed.

    File-based data sets hold their images this way: a quarter of the memory of float tensors, and
    a memory-mapped cache larger than RAM is paged in batch by batch instead of loaded whole.
    ``rows`` selects this split's rows of a shared array. Index it like a tensor (an int, a slice,
    an index array or a boolean mask); ``to_tensor()`` reads it all."""

    def __init__(self, pixels: np.ndarray, rows: np.ndarray | None = None) -> None:
        if pixels.ndim != 4 or pixels.dtype != np.uint8:
            raise DataError(f"expected uint8 (N, C, H, W) pixels, got {pixels.dtype} {pixels.shape}")
        self.pixels = pixels
        self.rows = np.arange(len(pixels)) if rows is None else np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.rows), *self.pixels.shape[1:]))

    @property
    def ndim(self) -> int:
        return 4

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        rows = self.rows[index]
        if np.ndim(rows) == 0:
            return self._read(np.asarray([rows]))[0]
        return self._read(rows)

    def _read(self, rows: np.ndarray) -> torch.Tensor:
        # Sorted reads are sequential on disk; the result is put back in the order asked for.
        order = np.argsort(rows, kind="stable")
        chunk = np.empty((len(rows), *self.pixels.shape[1:]), dtype=np.uint8)
        chunk[order] = self.pixels[rows[order]]
        return torch.from_numpy(chunk).float().div_(255.0)

    def to_tensor(self) -> torch.Tensor:
        return self[:]


@dataclass
class Split:
    """One split: images (N, C, H, W) float32 in [0, 1] and labels (N,) in {0, 1}.

    ``names`` (file paths) and ``subtypes`` (e.g. CNV / DME / DRUSEN) are kept when the data set has
    them, so that scores.csv can say which image and which kind of anomaly each row is. ``groups``
    (e.g. patient ids) say which images belong together, so that splits can be checked for shared
    patients; None when the data set has no such information."""

    images: torch.Tensor | ImageArray
    labels: np.ndarray
    names: list[str] | None = None
    subtypes: list[str] | None = None
    groups: list[str] | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise DataError(f"images must be (N, C, H, W), got shape {tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise DataError(f"{len(self.images)} images but {len(self.labels)} labels")
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        bad = set(np.unique(self.labels).tolist()) - {NORMAL_LABEL, ANOMALY_LABEL}
        if bad:
            raise DataError(f"labels must be 0 (normal) or 1 (anomaly), found {sorted(bad)}")
        for field_name in ("names", "subtypes", "groups"):
            values = getattr(self, field_name)
            if values is not None and len(values) != len(self.labels):
                raise DataError(f"{len(values)} {field_name} but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        return {
            "normal": int((self.labels == NORMAL_LABEL).sum()),
            "anomaly": int((self.labels == ANOMALY_LABEL).sum()),
        }

    def subtype_counts(self) -> dict[str, int]:
        """Images per subtype (empty when the data set has no subtypes)."""
        return dict(sorted(Counter(self.subtypes or []).items()))

    def group_counts(self) -> dict[str, int]:
        """Images per group (empty when the data set has no groups)."""
        return dict(sorted(Counter(self.groups or []).items()))


@dataclass(frozen=True)
class SkippedFile:
    """A file that could not be read, and why."""

    path: str
    reason: str


@dataclass
class ImageDataset:
    """A data set with train, val and test splits, and where it came from."""

    name: str
    train: Split
    val: Split
    test: Split
    source: str
    notes: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    image_sizes: dict[str, int] = field(default_factory=dict)  # "W×H" of the files as found → count
    grouping: str = NO_GROUPS  # how the splits' groups (patients, lesions) were found, in words

    @property
    def in_channels(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train.images.shape[-1])

    def summary(self) -> dict[str, dict[str, int]]:
        return {name: getattr(self, name).counts() for name in SPLIT_NAMES}

    def group_summary(self) -> dict[str, int | None]:
        """Distinct groups per split (None for a split without group information)."""
        summary: dict[str, int | None] = {}
        for name in SPLIT_NAMES:
            groups = getattr(self, name).groups
            summary[name] = None if groups is None else len(set(groups))
        return summary

    def group_overlap(self) -> dict[str, int]:
        """Groups shared by each pair of splits, keyed ``"train-val"``, ``"train-test"``,
        ``"val-test"``; pairs where either split has no group information are left out."""
        overlap: dict[str, int] = {}
        for first, second in combinations(SPLIT_NAMES, 2):
            a, b = getattr(self, first).groups, getattr(self, second).groups
            if a is not None and b is not None:
                overlap[f"{first}-{second}"] = len(set(a) & set(b))
        return overlap
