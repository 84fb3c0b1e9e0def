"""Users' own data: ``--dataset folder:PATH``.

Two layouts:

- folders: ``PATH/normal/`` and ``PATH/abnormal/`` (names case-insensitive), optionally under
  ``PATH/{train,val,test}/``. Subfolders of ``abnormal/`` name the anomaly subtype. Without split
  folders, a stratified 20 % test and ``--val-frac`` validation part are carved (seed 0);
  without ``val/``, only validation is carved from ``train/``.
- a CSV manifest ``PATH`` = ``something.csv`` with columns ``path,label`` and optionally
  ``split`` (train / val / test) and ``subtype``; paths are relative to the CSV's folder; labels
  are ``normal``/``0`` or ``abnormal``/``anomaly``/``1``.

Images are read as grey unless the sampled files hold colour.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from flowgmm_ae.data.base import ANOMALY_LABEL, NORMAL_LABEL, DataError
from flowgmm_ae.data.filesets import FileRecord, FileSet, check_folder
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
    """Records of a ``path,label[,split][,subtype]`` CSV; unknown labels or splits are errors."""
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
    records = []
    for row in rows:
        label = LABEL_WORDS[row["label"].lower()]
        path = Path(row["path"]).expanduser()
        path = path if path.is_absolute() else manifest.parent / path
        subtype = row.get("subtype") or ("normal" if label == NORMAL_LABEL else "abnormal")
        records.append(FileRecord(str(path), label, subtype, SPLIT_WORDS[row.get("split", "").lower()]))
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


def folder_fileset(spec: str) -> FileSet:
    """``spec`` is ``folder:PATH``."""
    target = Path(spec[len(PREFIX) :]).expanduser()
    if not str(target) or spec == PREFIX:
        raise DataError("--dataset folder:PATH needs a path after 'folder:'")
    if target.suffix.lower() == ".csv":
        if not target.is_file():
            raise DataError(f"the manifest {target} does not exist")
        records = manifest_records(target)
    else:
        records = folder_records(check_folder(target, "normal/ and abnormal/ folders, or train/ val/ test/"))
    channels = 3 if looks_colour([r.path for r in records]) else 1
    name = "folder-" + (target.stem if target.suffix else target.name)
    return FileSet(name=name, source=str(target.resolve()), records=records, channels=channels)
