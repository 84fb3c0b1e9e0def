"""Data sets made of image files: a list of labeled records → decoded (and cached) splits.

Every file-based layout (Kermany folders, ISIC's CSV, generic folders and manifests) only lists
:class:`FileRecord` s; this module decodes them once, skips and reports unreadable files, and
carves the validation (and, where a layout has none, the test) split in a seeded, stratified way,
by group (patient, lesion): images of one group all land in the same carved split, so validation
and test never share a patient with train.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from flowgmm_ae.data.base import (
    ANOMALY_LABEL,
    NORMAL_LABEL,
    SPLIT_NAMES,
    DataError,
    ImageArray,
    ImageDataset,
    SkippedFile,
    Split,
)
from flowgmm_ae.data.cache import Decoded, DecodedCache, fingerprint
from flowgmm_ae.data.images import read_array
from flowgmm_ae.data.transforms import resize

log = logging.getLogger("flowgmm_ae")

SPLITS = SPLIT_NAMES
PER_IMAGE = "per image (no group information)"
# The carved splits do not depend on the run's seed: like an official split, they are a property of
# the data set, so every method and seed is validated and tested on the same images.
SPLIT_SEED = 0
DEFAULT_TEST_FRAC = 0.2


@dataclass(frozen=True)
class FileRecord:
    """One image file: its path, label (0 normal / 1 anomaly), subtype, split (None: to carve) and
    group (e.g. the patient; None: the image is its own group)."""

    path: str
    label: int
    subtype: str
    split: str | None = None
    group: str | None = None


@dataclass
class FileSet:
    """What a layout found: records plus how to read them."""

    name: str
    source: str
    records: list[FileRecord]
    channels: int = 1
    notes: list[str] = field(default_factory=list)
    grouping: str = PER_IMAGE  # how the records' groups were found, in words


def decode_files(
    paths: list[str], image_size: int, channels: int, strict: bool = False, progress: bool = False
) -> Decoded:
    """Read and resize every file; unreadable ones are skipped (or, with ``strict``, fatal)."""
    images = np.empty((len(paths), channels, image_size, image_size), dtype=np.uint8)
    kept: list[int] = []
    skipped: list[tuple[str, str]] = []
    sizes: list[tuple[int, int]] = []
    # disable=None: tqdm shows the bar on a terminal only, never in a log file.
    bar = tqdm(paths, desc="decoding images", unit="img", disable=None if progress else True)
    for index, path in enumerate(bar):
        try:
            array, original = read_array(path, channels, image_size)
        except DataError as error:
            if strict:
                raise DataError(f"{error} (--strict stops at unreadable files)") from error
            skipped.append((path, str(error)))
            continue
        tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).unsqueeze(0)
        resized = resize(tensor, image_size)[0]
        images[len(kept)] = resized.mul(255.0).round_().to(torch.uint8).numpy()
        kept.append(index)
        sizes.append(original)
    return Decoded(images[: len(kept)], np.asarray(kept, dtype=np.int64), skipped, sizes)


def _decoded(
    fileset: FileSet,
    image_size: int,
    strict: bool,
    cache: DecodedCache | None,
    progress: bool,
) -> Decoded:
    """Decoded images from the cache when the files are unchanged, else decoded now (and cached)."""
    paths = [record.path for record in fileset.records]
    key = fingerprint(paths, image_size, fileset.channels)
    if cache is not None:
        hit = cache.load(fileset.name, image_size, fileset.channels, key)
        if hit is not None and not (strict and hit.skipped):
            return hit
    decoded = decode_files(paths, image_size, fileset.channels, strict=strict, progress=progress)
    if cache is not None:
        try:
            cache.save(fileset.name, image_size, fileset.channels, key, decoded)
        except OSError as error:  # a read-only or full cache folder costs speed, not the run
            log.warning(f"could not write the decoded-image cache in {cache.folder}: {error}")
    return decoded


def _stratum(keys: list[str]) -> str:
    """A group's stratum: its most common key (ties: the first in sorted order, so it is stable)."""
    counts = Counter(keys)
    return min(counts, key=lambda key: (-counts[key], key))


def group_take(
    strata: np.ndarray, groups: np.ndarray, fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """A boolean mask taking whole groups, about ``fraction`` of each stratum's images.

    Each group's stratum is its most common value in ``strata``. A stratum's groups are shuffled
    with ``rng`` and taken in that order while taking the next one brings the images taken closer
    to ``fraction`` of the stratum's images; at least one group is taken of a stratum with two or
    more, never all of them. So the strata keep their shares as far as the group sizes allow."""
    mask = np.zeros(len(strata), dtype=bool)
    if fraction <= 0 or len(strata) == 0:
        return mask
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups.tolist()):
        members.setdefault(group, []).append(index)
    by_stratum: dict[str, list[str]] = {}
    for group, rows in members.items():
        by_stratum.setdefault(_stratum([str(strata[i]) for i in rows]), []).append(group)
    for stratum in sorted(by_stratum):
        names = by_stratum[stratum]
        if len(names) < 2:
            continue
        target = fraction * sum(len(members[name]) for name in names)
        taken_images, taken_groups = 0, 0
        for position in rng.permutation(len(names)):
            size = len(members[names[position]])
            closer = taken_images + size / 2 <= target
            if taken_groups == len(names) - 1 or (taken_groups > 0 and not closer):
                break
            mask[members[names[position]]] = True
            taken_images += size
            taken_groups += 1
    return mask


def record_groups(records: list[FileRecord]) -> list[str]:
    """Each record's group, a record without one being its own group (named by its path)."""
    return [record.group if record.group is not None else record.path for record in records]


def assign_splits(
    records: list[FileRecord], val_frac: float, test_frac: float = DEFAULT_TEST_FRAC
) -> list[str]:
    """Each record's split: its own if the layout gave one; a test part is carved only when no record
    is marked test, and a validation part of train when none is marked val.

    Both are carved by group (stratified by label and subtype as far as the groups allow, see
    :func:`group_take`) with the fixed :data:`SPLIT_SEED`, so a carved split shares no group with
    the pool it came from and does not move with the run's seed."""
    assigned = np.array([record.split or "train" for record in records], dtype=object)
    strata = np.array([f"{record.label}:{record.subtype}" for record in records], dtype=object)
    # A record without a group gets a key no named group can have, so it always stays on its own.
    groups = np.array(
        [f"group:{r.group}" if r.group is not None else f"image:{i}" for i, r in enumerate(records)],
        dtype=object,
    )
    rng = np.random.default_rng(SPLIT_SEED)
    if "test" not in assigned:
        pool = np.flatnonzero(assigned == "train")
        assigned[pool[group_take(strata[pool], groups[pool], test_frac, rng)]] = "test"
    if "val" not in assigned:
        pool = np.flatnonzero(assigned == "train")
        assigned[pool[group_take(strata[pool], groups[pool], val_frac, rng)]] = "val"
    return assigned.tolist()


def overlap_notes(dataset: ImageDataset) -> list[str]:
    """A note for each pair of splits that shares groups (only official splits can: carved ones
    are group-disjoint from their pool)."""
    return [
        f"{pair.replace('-', ' and ')} share {count} group(s) ({dataset.grouping}); splits given by "
        "the layout are kept as published"
        for pair, count in dataset.group_overlap().items()
        if count
    ]


def build_dataset(
    fileset: FileSet,
    image_size: int,
    val_frac: float = 0.1,
    strict: bool = False,
    cache: DecodedCache | None = None,
    progress: bool = False,
) -> ImageDataset:
    """Decode ``fileset`` and split it into an :class:`ImageDataset`."""
    if not 0.0 < val_frac < 1.0:
        raise DataError(f"--val-frac must be between 0 and 1 (exclusive), got {val_frac}")
    if not fileset.records:
        raise DataError(f"{fileset.name}: no image files found in {fileset.source}")
    decoded = _decoded(fileset, image_size, strict, cache, progress)
    records = [fileset.records[i] for i in decoded.kept]
    if not records:
        raise DataError(
            f"{fileset.name}: none of the {len(fileset.records)} files in {fileset.source} is readable"
        )
    splits = assign_splits(records, val_frac)
    groups = record_groups(records)
    built: dict[str, Split] = {}
    for split in SPLITS:
        index = [i for i, name in enumerate(splits) if name == split]
        labels = np.array([records[i].label for i in index], dtype=np.int64)
        needed = ((NORMAL_LABEL, "normal"),) + (((ANOMALY_LABEL, "anomalous"),) if split != "train" else ())
        for label, word in needed:
            if not (labels == label).any():
                raise DataError(
                    f"{fileset.name}: the {split} split has no {word} images (after skipping unreadable "
                    f"files) in {fileset.source}; training needs normal images, validation and test "
                    "need both normal and anomalous ones"
                )
        built[split] = Split(
            images=ImageArray(decoded.images, rows=np.asarray(index, dtype=np.int64)),
            labels=labels,
            names=[records[i].path for i in index],
            subtypes=[records[i].subtype for i in index],
            groups=[groups[i] for i in index],
        )
    skipped = [SkippedFile(path, reason) for path, reason in decoded.skipped]
    if skipped:
        log.warning(
            f"{fileset.name}: skipped {len(skipped)} unreadable file(s), e.g. {skipped[0].path} "
            "(listed in the run folder's skipped_files.txt; --strict makes this an error)"
        )
    sizes = Counter(f"{w}x{h}" for w, h in decoded.original_sizes)
    dataset = ImageDataset(
        name=fileset.name,
        source=fileset.source,
        notes=list(fileset.notes),
        skipped=skipped,
        image_sizes=dict(sizes.most_common()),
        grouping=fileset.grouping,
        **built,
    )
    dataset.notes += overlap_notes(dataset)
    return dataset


def csv_columns(csv_path: Path) -> list[str]:
    """The header of a CSV, lower-cased (empty when it cannot be read: reading it later says why)."""
    try:
        with open(csv_path, newline="") as handle:
            return [column.strip().lower() for column in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def check_folder(path: Path, what: str) -> Path:
    """``path`` if it is a folder, else a :class:`DataError` naming it and what it should hold."""
    if not path.is_dir():
        raise DataError(f"{path} does not exist or is not a folder; expected {what}")
    return path
