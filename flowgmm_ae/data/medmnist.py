"""MedMNIST ``.npz`` files (Yang et al., Scientific Data 2023), PneumoniaMNIST by default.

The file is looked for in ``--data-root``, then ``$FLOWGMM_AE_DATA``, then the user cache; each place
is tried as given and with a ``medmnist/`` folder below it. Only when none holds it is the official
file downloaded into the cache and its md5 checked. A local copy is accepted whatever its checksum:
users (and ``../shared/data``) may hold the same images in another order.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

import numpy as np

from flowgmm_ae.data.base import DataError, ImageDataset, Split
from flowgmm_ae.data.transforms import resize, uint8_to_tensor

DATA_ENV = "FLOWGMM_AE_DATA"
OFFLINE_ENV = "FLOWGMM_AE_OFFLINE"

# name → (file name, official URL, official md5)
MEDMNIST_FILES: dict[str, tuple[str, str, str]] = {
    "pneumoniamnist": (
        "pneumoniamnist.npz",
        "https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1",
        "28209eda62fecd6e6a2d98b1501bb15f",
    ),
}


def cache_dir() -> Path:
    """Where downloads go: ``$XDG_CACHE_HOME/flowgmm_ae`` or ``~/.cache/flowgmm_ae``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowgmm_ae"


def candidate_paths(file_name: str, data_root: str | os.PathLike | None) -> list[Path]:
    """Every place the file is looked for, in order."""
    roots: list[Path] = []
    if data_root:
        roots.append(Path(data_root).expanduser())
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]).expanduser())
    roots.append(cache_dir())
    paths: list[Path] = []
    for root in roots:
        if root.suffix == ".npz":
            paths.append(root)
        else:
            paths += [root / file_name, root / "medmnist" / file_name]
    return paths


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, target: Path, md5: str, timeout: float = 20.0) -> Path:
    """Fetch ``url`` to ``target`` through a temporary file, checking the md5 before the rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise DataError(f"could not download {url}: {error}") from error
    actual = md5sum(partial)
    if actual != md5:
        partial.unlink(missing_ok=True)
        raise DataError(f"downloaded {url} but its md5 is {actual}, expected {md5}")
    partial.replace(target)
    return target


def locate(name: str, data_root: str | os.PathLike | None = None, allow_download: bool = True) -> Path:
    """The path of data set ``name``'s file, downloading it if it is nowhere local."""
    if name not in MEDMNIST_FILES:
        raise DataError(f"unknown MedMNIST data set {name!r}; known: {sorted(MEDMNIST_FILES)}")
    file_name, url, md5 = MEDMNIST_FILES[name]
    paths = candidate_paths(file_name, data_root)
    for path in paths:
        if path.is_file():
            return path
    offline = os.environ.get(OFFLINE_ENV, "").lower() in {"1", "true", "yes"}
    reason = f"downloads are off (${OFFLINE_ENV} is set)"
    if allow_download and not offline:
        try:
            return download(url, cache_dir() / "medmnist" / file_name, md5)
        except DataError as error:
            reason = str(error)
    looked = "\n  ".join(str(p) for p in paths)
    raise DataError(
        f"{file_name} was not found. Looked in:\n  {looked}\nand {reason}.\n"
        f"Fix: pass --data-root DIR (a folder holding {file_name}, or the file itself), set "
        f"${DATA_ENV}, or download {url} into {cache_dir() / 'medmnist'}."
    )


def load_medmnist(
    name: str = "pneumoniamnist",
    data_root: str | os.PathLike | None = None,
    image_size: int | None = None,
    allow_download: bool = True,
) -> ImageDataset:
    """Load a MedMNIST file's official train/val/test split, resized to ``image_size``."""
    path = locate(name, data_root, allow_download)
    try:
        archive = np.load(path)
        splits = {}
        for split in ("train", "val", "test"):
            images = archive[f"{split}_images"]
            labels = archive[f"{split}_labels"].reshape(-1)
            tensor = uint8_to_tensor(images)
            splits[split] = Split(resize(tensor, image_size) if image_size else tensor, labels)
    except KeyError as error:
        raise DataError(f"{path} is not a MedMNIST file: missing array {error}") from error
    except (OSError, ValueError) as error:
        raise DataError(f"{path} could not be read as a MedMNIST .npz file: {error}") from error
    return ImageDataset(name=name, source=str(path), **splits)
