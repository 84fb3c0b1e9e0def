"""Data sets, the semi-supervised split and transforms.

``load_dataset(name, ...)`` is the one entry point; every loader returns an :class:`ImageDataset`
whose images are float tensors in [0, 1] at the requested size.
"""

from __future__ import annotations

import os

from flowgmm_ae.data.base import ANOMALY_LABEL, NORMAL_LABEL, DataError, ImageDataset, Split
from flowgmm_ae.data.medmnist import DATA_ENV, MEDMNIST_FILES, load_medmnist
from flowgmm_ae.data.splits import SemiSupervisedSplit, make_split
from flowgmm_ae.data.synthetic import make_synthetic

DATASETS = tuple(MEDMNIST_FILES) + ("synthetic",)
DEFAULT_DATASET = "pneumoniamnist"

__all__ = [
    "ANOMALY_LABEL",
    "DATASETS",
    "DATA_ENV",
    "DEFAULT_DATASET",
    "DataError",
    "ImageDataset",
    "NORMAL_LABEL",
    "SemiSupervisedSplit",
    "Split",
    "load_dataset",
    "make_split",
]


def load_dataset(
    name: str,
    image_size: int,
    data_root: str | os.PathLike | None = None,
    seed: int = 0,
    fallback_to_synthetic: bool = False,
    allow_download: bool = True,
) -> ImageDataset:
    """Load data set ``name`` at ``image_size``.

    With ``fallback_to_synthetic`` (only when the user named no data set) a missing MedMNIST file
    gives the synthetic data set instead, with the reason kept in ``notes``; otherwise a missing
    file raises :class:`DataError` that says where it looked and how to fix it."""
    if name == "synthetic":
        return make_synthetic(image_size=image_size, seed=seed)
    if name in MEDMNIST_FILES:
        try:
            return load_medmnist(name, data_root, image_size, allow_download=allow_download)
        except DataError as error:
            if not fallback_to_synthetic:
                raise
            dataset = make_synthetic(image_size=image_size, seed=seed)
            dataset.notes.append(f"fell back to the synthetic data set because: {error}")
            return dataset
    raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
