"""Kermany et al. (Cell 2018) folder layouts: ChestXRay2017 and OCT2017.

``ROOT/{train,test}/{CLASS}/*``: ChestXRay2017 has NORMAL and PNEUMONIA (file names say bacteria or
virus, kept as the subtype); OCT2017 has NORMAL, CNV, DME and DRUSEN (the three diseases are
anomalies, kept as subtypes). The official ``val/`` folders hold only 16 (ChestXRay) or 32 (OCT)
images, so they join the training pool and validation is a seeded, stratified part of it
(``--val-frac``), carved by patient: the patient id is read from the file name (``person123_virus_4``
→ ``person123``, ``IM-0115-0001`` → ``IM-0115``, ``CNV-1016042-1`` → ``1016042``). Neither set is
downloaded automatically (Mendeley Data, doi:10.17632/rscbjbr9sj): point ``--data-root`` or
``$FLOWGMM_AE_DATA`` at a copy.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from flowgmm_ae.data.base import ANOMALY_LABEL, NORMAL_LABEL, DataError
from flowgmm_ae.data.filesets import FileRecord, FileSet
from flowgmm_ae.data.images import is_image_file
from flowgmm_ae.data.medmnist import DATA_ENV
from flowgmm_ae.data.medmnist import cache_dir as user_cache_dir


@dataclass(frozen=True)
class KermanyLayout:
    name: str
    normal: str
    anomalies: tuple[str, ...]
    archive_folders: tuple[str, ...]  # where the official archives put train/ and test/

    @property
    def classes(self) -> tuple[str, ...]:
        return (self.normal, *self.anomalies)


LAYOUTS = {
    "chestxray2017": KermanyLayout(
        "chestxray2017", "NORMAL", ("PNEUMONIA",), ("chest_xray", "ChestXRay2017/chest_xray")
    ),
    "oct2017": KermanyLayout("oct2017", "NORMAL", ("CNV", "DME", "DRUSEN"), ("OCT2017", "CellData/OCT")),
}


# Patient ids in Kermany's file names. ChestXRay2017: ``person{N}_{bacteria|virus}_{M}`` (bacteria
# and virus images of one person id are one group) and ``[NORMAL2-]IM-{N}-{M}[-{K}]``, whose first
# number is the patient. OCT2017: ``{CLASS}-{N}-{M}``, where N is the patient whatever the class.
PATIENT_PATTERNS = (
    re.compile(r"^(person\d+)_", re.IGNORECASE),
    re.compile(r"^((?:NORMAL\d*-)?IM-\d+)-\d+", re.IGNORECASE),
    re.compile(r"^(?:CNV|DME|DRUSEN|NORMAL)-(\d+)-\d+", re.IGNORECASE),
)
GROUPING = "patient id from file names (train/ and val/ numbered as one, test/ apart)"


def patient_id(file_name: str) -> str | None:
    """The patient id in a Kermany file name (``person123_bacteria_4.jpeg`` → ``person123``,
    ``NORMAL2-IM-1427-0001.jpeg`` → ``NORMAL2-IM-1427``, ``CNV-1016042-1.jpeg`` → ``1016042``), or
    None when the name follows none of the data sets' patterns."""
    for pattern in PATIENT_PATTERNS:
        match = pattern.match(file_name)
        if match:
            return match[1]
    return None


def patient_group(folder: str, file_name: str) -> str | None:
    """The group of a file in the official ``folder`` (train, val or test): its patient id, prefixed
    by the numbering it belongs to. The test folder numbers its patients apart (``person1`` in test is
    not ``person1`` in train); val/ joins the training pool and is taken to share train's numbering,
    which can only merge groups, never split a patient."""
    patient = patient_id(file_name)
    if patient is None:
        return None
    return f"{'test' if folder == 'test' else 'train'}/{patient}"


def _has_splits(folder: Path) -> bool:
    return (folder / "train").is_dir() and (folder / "test").is_dir()


def locate_root(layout: KermanyLayout, data_root: str | os.PathLike | None) -> Path:
    """The folder holding ``train/`` and ``test/``: ``data_root``, else ``$FLOWGMM_AE_DATA/<name>``,
    else the user cache; each also tried with the official archives' inner folders."""
    bases: list[Path] = []
    if data_root:
        bases.append(Path(data_root).expanduser())
    else:
        if os.environ.get(DATA_ENV):
            bases.append(Path(os.environ[DATA_ENV]).expanduser() / layout.name)
        bases.append(user_cache_dir() / layout.name)
    looked: list[Path] = []
    for base in bases:
        for folder in (base, *(base / inner for inner in layout.archive_folders)):
            looked.append(folder)
            if _has_splits(folder):
                return folder
    places = "\n  ".join(str(p) for p in looked)
    raise DataError(
        f"{layout.name} was not found: no folder with train/ and test/ among\n  {places}\n"
        f"Fix: pass --data-root pointing at the folder that holds train/{{{','.join(layout.classes)}}} "
        f"and test/..., or set ${DATA_ENV} to a folder holding {layout.name}/ (download: Kermany et al., "
        "Mendeley Data, doi:10.17632/rscbjbr9sj)."
    )


def _subtype(layout: KermanyLayout, class_name: str, file: Path) -> str:
    """ChestXRay's pneumonia files say bacteria or virus in their names; otherwise the class."""
    if layout.name == "chestxray2017" and class_name == "PNEUMONIA":
        lowered = file.name.lower()
        for kind in ("bacteria", "virus"):
            if kind in lowered:
                return kind
    return class_name


def list_records(layout: KermanyLayout, root: Path) -> list[FileRecord]:
    """Every image of ``root/{train,val,test}/{CLASS}``; a missing, empty or unknown class folder is
    an error that names it."""
    records: list[FileRecord] = []
    for split in ("train", "val", "test"):
        split_dir = root / split
        if not split_dir.is_dir():
            if split == "val":
                continue
            raise DataError(f"{layout.name}: {split_dir} is missing")
        folders = {p.name.upper(): p for p in split_dir.iterdir() if p.is_dir()}
        unknown = sorted(set(folders) - set(layout.classes))
        if unknown:
            raise DataError(
                f"{layout.name}: unknown class folder(s) {', '.join(unknown)} in {split_dir}; "
                f"expected {', '.join(layout.classes)}"
            )
        for class_name in layout.classes:
            if class_name not in folders:
                if split == "val":
                    continue
                raise DataError(f"{layout.name}: class folder {split_dir / class_name} is missing")
            files = sorted(p for p in folders[class_name].rglob("*") if p.is_file() and is_image_file(p))
            if not files and split != "val":
                raise DataError(f"{layout.name}: class folder {folders[class_name]} holds no images")
            label = NORMAL_LABEL if class_name == layout.normal else ANOMALY_LABEL
            records += [
                FileRecord(
                    path=str(file),
                    label=label,
                    subtype=_subtype(layout, class_name, file),
                    split="test" if split == "test" else "train",  # official val/ joins the pool
                    group=patient_group(split, file.name),
                )
                for file in files
            ]
    return records


def kermany_fileset(name: str, data_root: str | os.PathLike | None) -> FileSet:
    layout = LAYOUTS[name]
    root = locate_root(layout, data_root)
    notes = []
    if (root / "val").is_dir():
        notes.append(f"the official val/ images of {root} joined the training pool (validation is carved)")
    records = list_records(layout, root)
    unnamed = [record.path for record in records if record.group is None]
    if unnamed:
        notes.append(
            f"{len(unnamed)} file name(s) carry no patient id (e.g. {unnamed[0]}); each of those images "
            "is its own group"
        )
    return FileSet(name=name, source=str(root), records=records, channels=1, notes=notes, grouping=GROUPING)
