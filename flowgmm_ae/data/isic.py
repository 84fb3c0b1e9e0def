"""ISIC 2018 Task 3 (dermoscopy): image folders plus the one-hot ground-truth CSVs.

Layout as distributed: ``ISIC2018_Task3_{Training,Validation,Test}_Input/`` and the matching
``*_GroundTruth.csv`` (columns ``image,MEL,NV,BCC,AKIEC,BKL,DF,VASC``), anywhere under the root.
NV (melanocytic nevus) is normal and every other class anomalous, as in AE-FLOW; the class is kept
as the subtype. Training is train (validation carved by ``--val-frac``); the official Validation
set is the test split unless a Test CSV is present, in which case it is the validation split.
Images are read in colour (3 channels). HAM10000 holds several images of one lesion: when a CSV with
``lesion_id`` and ``image_id`` (or ``image``) columns is found under the root (``HAM10000_metadata.csv``,
``ISIC2018_Task3_Training_LesionGroupings.csv``), validation is carved by lesion, else per image.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

from flowgmm_ae.data.base import ANOMALY_LABEL, NORMAL_LABEL, DataError
from flowgmm_ae.data.filesets import PER_IMAGE, FileRecord, FileSet, check_folder, csv_columns
from flowgmm_ae.data.images import is_image_file
from flowgmm_ae.data.medmnist import DATA_ENV

CLASSES = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
NORMAL_CLASS = "NV"
LESION_COLUMN = "lesion_id"
IMAGE_COLUMNS = ("image_id", "image")

log = logging.getLogger("flowgmm_ae")


def _part(csv_path: Path) -> str | None:
    name = csv_path.name.lower()
    for word, part in (("training", "train"), ("validation", "val"), ("test", "test")):
        if word in name:
            return part
    return None


def is_lesion_table(csv_path: Path) -> bool:
    """Whether a CSV maps images to lesions (HAM10000's metadata or the Task 3 lesion groupings)."""
    columns = csv_columns(csv_path)
    return LESION_COLUMN in columns and any(column in columns for column in IMAGE_COLUMNS)


def read_lesion_ids(csv_path: Path) -> dict[str, str]:
    """Image id → lesion id of a lesion table; rows without both are left out."""
    try:
        with open(csv_path, newline="") as handle:
            reader = csv.DictReader(handle)
            columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
            image_column = columns[next(c for c in IMAGE_COLUMNS if c in columns)]
            lesion_column = columns[LESION_COLUMN]
            lesions = {}
            for row in reader:
                image, lesion = (row.get(image_column) or "").strip(), (row.get(lesion_column) or "").strip()
                if image and lesion:
                    lesions[image] = lesion
    except (OSError, UnicodeDecodeError, csv.Error, StopIteration, KeyError) as error:
        raise DataError(f"could not read the lesion table {csv_path}: {error}") from error
    return lesions


def read_ground_truth(csv_path: Path) -> list[tuple[str, str]]:
    """(image id, class) for each row; a row that is not exactly one-hot is an error naming it."""
    try:
        with open(csv_path, newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or [])
            missing = [c for c in ("image", *CLASSES) if c not in columns]
            if missing:
                raise DataError(
                    f"{csv_path} is not an ISIC 2018 Task 3 ground-truth CSV: missing column(s) "
                    f"{', '.join(missing)} (expected image,{','.join(CLASSES)})"
                )
            rows: list[tuple[str, str]] = []
            bad: list[str] = []
            for line, row in enumerate(reader, start=2):
                try:
                    hot = [c for c in CLASSES if float(row[c]) == 1.0]
                except (TypeError, ValueError):
                    hot = []
                if len(hot) != 1:
                    bad.append(f"line {line} ({row.get('image')})")
                else:
                    rows.append((row["image"], hot[0]))
    except OSError as error:
        raise DataError(f"could not read {csv_path}: {error}") from error
    if bad:
        raise DataError(
            f"{csv_path}: {len(bad)} row(s) without exactly one class of {', '.join(CLASSES)}: "
            + ", ".join(bad[:5])
            + (" ..." if len(bad) > 5 else "")
        )
    return rows


def isic_fileset(data_root: str | os.PathLike | None) -> FileSet:
    if data_root is None:
        if not os.environ.get(DATA_ENV):
            raise DataError("isic2018 needs --data-root (the folder holding the ISIC 2018 Task 3 files)")
        data_root = Path(os.environ[DATA_ENV]) / "isic2018"
    root = check_folder(Path(data_root).expanduser(), "the ISIC 2018 Task 3 images and ground-truth CSVs")
    csvs = sorted(root.rglob("*.csv"))
    lesion_tables = [p for p in csvs if is_lesion_table(p)]
    others = [p for p in csvs if p not in lesion_tables]  # a lesion table is never ground truth
    truth = [p for p in others if "groundtruth" in p.name.lower().replace("_", "")] or others
    if not truth:
        raise DataError(
            f"isic2018: no ground-truth CSV (e.g. ISIC2018_Task3_Training_GroundTruth.csv) under {root}"
        )
    parts = {path: _part(path) or "train" for path in truth}
    has_test = "test" in parts.values()
    notes = [] if has_test else ["the official ISIC 2018 Validation set serves as the test split"]
    lesions: dict[str, str] = {}
    for table in lesion_tables:
        lesions.update(read_lesion_ids(table))
    images = {p.stem: p for p in root.rglob("*") if p.is_file() and is_image_file(p)}
    records: list[FileRecord] = []
    for path, part in parts.items():
        split = "test" if part == "val" and not has_test else part
        for image_id, class_name in read_ground_truth(path):
            file = images.get(image_id)
            records.append(
                FileRecord(
                    path=str(file)
                    if file
                    else str(path.parent / f"{image_id} (listed in {path.name}, not found)"),
                    label=NORMAL_LABEL if class_name == NORMAL_CLASS else ANOMALY_LABEL,
                    subtype=class_name,
                    split=split,
                    group=lesions.get(image_id),
                )
            )
    carves = not any(record.split == "val" for record in records)
    if lesions:
        grouping = f"lesion_id from {', '.join(table.name for table in lesion_tables)}"
        alone = sum(record.group is None and record.split == "train" for record in records)
        if alone and carves:
            notes.append(f"{alone} training image(s) have no lesion_id; each of those is its own group")
    else:
        grouping = PER_IMAGE
        if carves:
            message = (
                f"isic2018: validation is carved per image because no lesion_id was found (no CSV with "
                f"lesion_id and image_id columns, e.g. HAM10000_metadata.csv, under {root}), so images "
                "of one lesion can land in both train and val"
            )
            log.warning(message)
            notes.append(message)
    return FileSet(
        name="isic2018", source=str(root), records=records, channels=3, notes=notes, grouping=grouping
    )
