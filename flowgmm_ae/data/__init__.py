"""Data sets, the semi-supervised split and transforms.

``load_dataset(name, ...)`` is the one entry point; every loader returns an :class:`ImageDataset`
whose images are float tensors in [0, 1] at the requested size. Names: MedMNIST files
(``pneumoniamnist``), Kermany folders (``chestxray2017``, ``oct2017``), ``isic2018``, the user's own
``folder:PATH`` and ``synthetic``.
"""

from __future__ import annotations

import logging
import os

from flowgmm_ae.data.base import ANOMALY_LABEL, NORMAL_LABEL, DataError, ImageDataset, SkippedFile, Split
from flowgmm_ae.data.cache import DecodedCache, default_cache_dir
from flowgmm_ae.data.filesets import FileSet, build_dataset
from flowgmm_ae.data.folder import PREFIX as FOLDER_PREFIX
from flowgmm_ae.data.folder import folder_fileset
from flowgmm_ae.data.isic import isic_fileset
from flowgmm_ae.data.kermany import LAYOUTS as KERMANY_LAYOUTS
from flowgmm_ae.data.kermany import kermany_fileset
from flowgmm_ae.data.medmnist import DATA_ENV, MEDMNIST_FILES, load_medmnist
from flowgmm_ae.data.splits import SemiSupervisedSplit, make_split
from flowgmm_ae.data.synthetic import make_synthetic

FILE_DATASETS = (*KERMANY_LAYOUTS, "isic2018")
DATASETS = (*MEDMNIST_FILES, *FILE_DATASETS, "synthetic")
DEFAULT_DATASET = "pneumoniamnist"
SYNTHETIC_GROUPING = "no patient ids: generated images, split as generated"

log = logging.getLogger("flowgmm_ae")

__all__ = [
    "ANOMALY_LABEL",
    "DATASETS",
    "DATA_ENV",
    "DEFAULT_DATASET",
    "DataError",
    "FOLDER_PREFIX",
    "ImageDataset",
    "NORMAL_LABEL",
    "SemiSupervisedSplit",
    "SkippedFile",
    "Split",
    "is_known_dataset",
    "load_dataset",
    "make_split",
]


def is_known_dataset(name: str) -> bool:
    return name in DATASETS or name.startswith(FOLDER_PREFIX)


def file_dataset(name: str, data_root: str | os.PathLike | None, group_pattern: str | None = None) -> FileSet:
    """The file list of a file-based data set (nothing decoded yet). ``group_pattern`` finds the
    patient in ``folder:`` sets' file names; the named data sets know their own grouping."""
    if name.startswith(FOLDER_PREFIX):
        return folder_fileset(name, group_pattern=group_pattern)
    if group_pattern is not None:
        log.warning(f"--group-pattern only concerns folder: data sets; {name} finds its own groups")
    if name in KERMANY_LAYOUTS:
        return kermany_fileset(name, data_root)
    if name == "isic2018":
        return isic_fileset(data_root)
    raise DataError(f"{name!r} is not a file-based data set")


def load_dataset(
    name: str,
    image_size: int,
    data_root: str | os.PathLike | None = None,
    seed: int = 0,
    fallback_to_synthetic: bool = False,
    allow_download: bool = True,
    val_frac: float = 0.1,
    strict: bool = False,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    progress: bool = False,
    group_pattern: str | None = None,
) -> ImageDataset:
    """Load data set ``name`` at ``image_size``.

    With ``fallback_to_synthetic`` (only when the user named no data set) a missing MedMNIST file
    gives the synthetic data set instead, with the reason kept in ``notes``; otherwise a missing
    file raises :class:`DataError` that says where it looked and how to fix it. File-based data
    sets are decoded once and cached (``cache_dir``, default ``$FLOWGMM_AE_CACHE`` or the user
    cache); ``val_frac``, ``strict`` and ``group_pattern`` (``--group-pattern``: the patient in a
    ``folder:`` set's file names, so that carved splits share no patient with train) only concern
    them."""
    if name == "synthetic":
        dataset = make_synthetic(image_size=image_size, seed=seed)
        dataset.grouping = SYNTHETIC_GROUPING
        return dataset
    if name in MEDMNIST_FILES:
        try:
            return load_medmnist(name, data_root, image_size, allow_download=allow_download)
        except DataError as error:
            if not fallback_to_synthetic:
                raise
            dataset = make_synthetic(image_size=image_size, seed=seed)
            dataset.grouping = SYNTHETIC_GROUPING
            dataset.notes.append(f"fell back to the synthetic data set because: {error}")
            return dataset
    if is_known_dataset(name):
        cache = DecodedCache(cache_dir or default_cache_dir()) if use_cache else None
        return build_dataset(
            file_dataset(name, data_root, group_pattern=group_pattern),
            image_size,
            val_frac=val_frac,
            strict=strict,
            cache=cache,
            progress=progress,
        )
    raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)} or folder:PATH")
