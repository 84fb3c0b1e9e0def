"""Users' own data: ``--dataset folder:PATH``.

Two layouts:

- folders: ``PATH/normal/`` and ``PATH/abnormal/`` (names case-insensitive), optionally under
  ``PATH/{train,val,test}/``. Subfolders of ``abnormal/`` name the anomaly subtype. Without split
  folders, a stratified 20 % test and ``--val-frac`` validation part are carved (seed 0);
  without ``val/``, only validation is carved from ``train/``.
- a CSV manifest ``PATH`` = ``something.csv`` with columns ``path,label`` and optionally
  ``split`` (train / val / test), ``subtype`` and ``group``; paths are relative to the CSV's folder;
  labels are ``normal``/``0`` or ``abnormal``/``anomaly``/``1``.

Carved splits take whole groups (e.g. patients): the manifest's ``group`` column, else the part of
each file name that ``--group-pattern REGEX`` picks out; without either every image is its own group
(a warning says so, since one patient's images can then land in train and in val or test).

Images are read as grey unless the sampled files hold colour.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from flowgmm_ae.data.base import ANOMALY_LABEL, NORMAL_LABEL, DataError
from flowgmm_ae.data.filesets import PER_IMAGE, FileRecord, FileSet, check_folder, csv_columns
from flowgmm_ae.data.images import is_image_file

PREFIX = "folder:"
LABEL_WORDS = {
    "0": NORMAL_LABEL,
    "normal": NORMAL_LABEL,
    "1": ANOMALY_LABEL,
    "abnormal": ANOMALY_LABEL,
    "anomaly": ANOMALY_LABEL,
    "anomalous": ANOMALY_LABEL,
}
SPLIT_WORDS = {"train": "train", "val": "val", "validation": "val", "test": "test", "": None}
CLASS_FOLDERS = {"normal": NORMAL_LABEL, "abnormal": ANOMALY_LABEL}
GROUP_COLUMN = "group"

log = logging.getLogger("flowgmm_ae")


def _children(folder: Path) -> dict[str, Path]:
    return {p.name.lower(): p for p in folder.iterdir() if p.is_dir()}


def _class_records(folder: Path, split: str | None, required: tuple[str, ...]) -> list[FileRecord]:
    children = _children(folder)
    unknown = sorted(set(children) - set(CLASS_FOLDERS))
    if unknown:
        raise DataError(f"unknown folder(s) {', '.join(unknown)} in {folder}; expected normal/ and abnormal/")
    records: list[FileRecord] = []
    for class_name, label in CLASS_FOLDERS.items():
        if class_name not in children:
            if class_name in required:
                raise DataError(
                    f"{folder / class_name} is missing (expected normal/ and abnormal/ in {folder})"
                )
            continue
        class_dir = children[class_name]
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and is_image_file(p))
        if not files:
            raise DataError(f"{class_dir} holds no images")
        for file in files:
            inner = file.relative_to(class_dir).parts
            subtype = inner[0] if label == ANOMALY_LABEL and len(inner) > 1 else class_name
            records.append(FileRecord(str(file), label, subtype, split))
    return records


def folder_records(root: Path) -> list[FileRecord]:
    children = _children(root)
    split_dirs = {name: children[name] for name in ("train", "val", "test") if name in children}
    if not split_dirs:
        if not set(children) & set(CLASS_FOLDERS):
            raise DataError(
                f"{root} has neither normal/ and abnormal/ folders nor train/, val/, test/ folders holding "
                "them (or pass a CSV manifest: --dataset folder:manifest.csv)"
            )
        return _class_records(root, None, required=("normal", "abnormal"))
    if "train" not in split_dirs:
        raise DataError(f"{root / 'train'} is missing (found {', '.join(sorted(split_dirs))}/)")
    records: list[FileRecord] = []
    for split, folder in split_dirs.items():
        required = {"train": ("normal",), "val": (), "test": ("normal", "abnormal")}[split]
        records += _class_records(folder, split, required)
    return records


def manifest_records(manifest: Path) -> list[FileRecord]:
    """Records of a ``path,label[,split][,subtype][,group]`` CSV; unknown labels or splits are errors.
    Without a ``group`` column (or where it is empty) a record's group is None."""
    try:
        with open(manifest, newline="") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip().lower() for c in reader.fieldnames or []]
            if "path" not in columns or "label" not in columns:
                raise DataError(f"{manifest} needs a header with columns path,label[,split][,subtype]")
            rows = [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"could not read the manifest {manifest}: {error}") from error
    bad_labels = sorted({row["label"] for row in rows if row["label"].lower() not in LABEL_WORDS})
    if bad_labels:
        raise DataError(
            f"{manifest}: unknown label(s) {', '.join(map(repr, bad_labels[:10]))}; "
            f"use one of {', '.join(LABEL_WORDS)}"
        )
    bad_splits = sorted(
        {row.get("split", "") for row in rows if row.get("split", "").lower() not in SPLIT_WORDS}
    )
    if bad_splits:
        raise DataError(
            f"{manifest}: unknown split(s) {', '.join(map(repr, bad_splits))}; use train, val or test"
        )
    with_nul = [number for number, row in enumerate(rows, start=2) if "\x00" in row["path"]]
    if with_nul:  # no file system accepts it; os calls would raise a bare ValueError
        raise DataError(f"{manifest}: the path on line {with_nul[0]} holds a NUL byte")
    records = []
    for row in rows:
        label = LABEL_WORDS[row["label"].lower()]
        path = Path(row["path"]).expanduser()
        path = path if path.is_absolute() else manifest.parent / path
        subtype = row.get("subtype") or ("normal" if label == NORMAL_LABEL else "abnormal")
        split = SPLIT_WORDS[row.get("split", "").lower()]
        records.append(FileRecord(str(path), label, subtype, split, row.get(GROUP_COLUMN) or None))
    if not records:
        raise DataError(f"{manifest} lists no images")
    return records


def looks_colour(paths: list[str], sample: int = 16) -> bool:
    """Whether any of ``sample`` evenly spaced Pillow-readable files has real colour (not grey in RGB)."""
    for path in paths[:: max(1, len(paths) // sample)][:sample]:
        try:
            with Image.open(path) as image:
                if image.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
                    continue
                image.thumbnail((64, 64))
                rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
        except Exception:  # unreadable or not a Pillow format: decoding reports it later
            continue
        if np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean() > 2.0:
            return True
    return False


def compile_group_pattern(pattern: str) -> re.Pattern[str]:
    """``--group-pattern`` compiled, or a :class:`DataError` naming the option."""
    try:
        return re.compile(pattern)
    except re.error as error:
        raise DataError(f"--group-pattern {pattern!r} is not a valid regular expression: {error}") from error


def pattern_group(pattern: re.Pattern[str], path: str) -> str | None:
    """The group ``pattern`` finds in the file name of ``path`` (``re.search``): its first capture
    group, or the whole match when it has none; None when it does not match (or captures nothing)."""
    match = pattern.search(Path(path).name)
    if match is None:
        return None
    return (match[1] if pattern.groups else match[0]) or None


def group_records(
    records: list[FileRecord], name: str, group_pattern: str | None, has_column: bool
) -> tuple[list[FileRecord], str, list[str]]:
    """Records with their groups filled in, how they were found (in words), and warnings.

    A manifest's ``group`` column wins; otherwise ``group_pattern`` on each file name; otherwise
    every image is its own group. What is doubtful (files without a group, carving per image) is
    logged as a warning and returned, to be kept in the data set's notes."""
    pattern = compile_group_pattern(group_pattern) if group_pattern is not None else None
    warnings: list[str] = []
    if has_column:
        grouping = f"the manifest's {GROUP_COLUMN} column"
        if pattern is not None:
            warnings.append(f"{name}: the manifest has a {GROUP_COLUMN} column; --group-pattern is ignored")
        alone = sum(record.group is None for record in records)
        if alone:
            warnings.append(f"{name}: {alone} manifest row(s) have no {GROUP_COLUMN}; each is its own group")
    elif pattern is not None:
        grouping = f"--group-pattern {group_pattern!r} on file names"
        records = [replace(record, group=pattern_group(pattern, record.path)) for record in records]
        unmatched = [record.path for record in records if record.group is None]
        if unmatched:
            warnings.append(
                f"{name}: {len(unmatched)} of {len(records)} file name(s) do not match --group-pattern "
                f"{group_pattern!r} (e.g. {Path(unmatched[0]).name}); each of those is its own group"
            )
    else:
        grouping = PER_IMAGE
        given = {record.split for record in records}
        carved = [split for split in ("val", "test") if split not in given]
        if carved:
            warnings.append(
                f"{name}: no group information, so {' and '.join(carved)} "
                f"{'is' if len(carved) == 1 else 'are'} carved per image and one patient's images can "
                f"land in train and in {' or '.join(carved)}; give --group-pattern REGEX (its first "
                f"capture group in each file name is the patient, e.g. '^(p\\d+)_') or a "
                f"{GROUP_COLUMN} column in a CSV manifest"
            )
    for warning in warnings:
        log.warning(warning)
    return records, grouping, warnings


def folder_fileset(spec: str, group_pattern: str | None = None) -> FileSet:
    """``spec`` is ``folder:PATH``; ``group_pattern`` (``--group-pattern``) finds each file's group
    in its name where a manifest has no ``group`` column."""
    target = Path(spec[len(PREFIX) :]).expanduser()
    if not str(target) or spec == PREFIX:
        raise DataError("--dataset folder:PATH needs a path after 'folder:'")
    name = "folder-" + (target.stem if target.suffix else target.name)
    if group_pattern is not None:
        compile_group_pattern(group_pattern)  # a bad pattern fails before the files are listed
    has_column = False
    if target.suffix.lower() == ".csv":
        if not target.is_file():
            raise DataError(f"the manifest {target} does not exist")
        records = manifest_records(target)
        has_column = GROUP_COLUMN in csv_columns(target)
    else:
        records = folder_records(check_folder(target, "normal/ and abnormal/ folders, or train/ val/ test/"))
    records, grouping, notes = group_records(records, name, group_pattern, has_column)
    channels = 3 if looks_colour([r.path for r in records]) else 1
    return FileSet(
        name=name,
        source=str(target.resolve()),
        records=records,
        channels=channels,
        notes=notes,
        grouping=grouping,
    )
