"""Decode once: resized images of a file-based data set, cached as one memory-mapped ``.npy``.

The cache key hashes the image size, the channel count and every file's path, size and
modification time, so adding, removing or changing a file makes a new key (and the data set is
read again); older entries for the same data set, size and channels are then removed. Images are
stored as uint8 (the model sees [0, 1] floats; 8 bits are below its noise and augmentation).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flowgmm_ae.data.medical import nifti_file
from flowgmm_ae.data.medmnist import cache_dir as user_cache_dir

CACHE_ENV = "FLOWGMM_AE_CACHE"
CACHE_VERSION = 1  # bump when decoding changes, so old entries are not reused


def default_cache_dir() -> Path:
    """``$FLOWGMM_AE_CACHE``, else ``decoded/`` in the user cache (next to downloads)."""
    explicit = os.environ.get(CACHE_ENV)
    return Path(explicit).expanduser() if explicit else user_cache_dir() / "decoded"


def _stat(path: str) -> tuple[int, int]:
    try:
        info = os.stat(nifti_file(path))
    except OSError:
        return (-1, -1)  # missing now: part of the key, so its later appearance re-reads
    return (info.st_size, info.st_mtime_ns)


def fingerprint(paths: list[str], image_size: int, channels: int) -> str:
    """A hash of what the decoded images depend on."""
    digest = hashlib.sha256(f"v{CACHE_VERSION} {image_size} {channels}\n".encode())
    for path in paths:
        size, mtime = _stat(path)
        digest.update(f"{path}\t{size}\t{mtime}\n".encode())
    return digest.hexdigest()[:20]


@dataclass
class Decoded:
    """Decoded images of a file list: ``images[i]`` belongs to ``paths[kept[i]]``."""

    images: np.ndarray  # (N, C, S, S) uint8, possibly memory-mapped
    kept: np.ndarray  # indices into the file list
    skipped: list[tuple[str, str]]  # (path, reason)
    original_sizes: list[tuple[int, int]]  # (width, height) of each kept file


class DecodedCache:
    """Entries ``{name}-{size}px-{channels}ch-{key}.npy`` with a ``.json`` sidecar in ``folder``."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder).expanduser()

    def _stem(self, name: str, image_size: int, channels: int) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        return f"{safe}-{image_size}px-{channels}ch"

    def _paths(self, stem: str, key: str) -> tuple[Path, Path]:
        return self.folder / f"{stem}-{key}.npy", self.folder / f"{stem}-{key}.json"

    def load(self, name: str, image_size: int, channels: int, key: str) -> Decoded | None:
        """The entry for ``key``, or None if absent or unreadable (it is then rebuilt)."""
        array_path, meta_path = self._paths(self._stem(name, image_size, channels), key)
        try:
            meta = json.loads(meta_path.read_text())
            images = np.load(array_path, mmap_mode="r")
        except (OSError, ValueError):
            return None
        if images.shape[0] != len(meta["kept"]):
            return None
        return Decoded(
            images=images,
            kept=np.asarray(meta["kept"], dtype=np.int64),
            skipped=[tuple(item) for item in meta["skipped"]],
            original_sizes=[tuple(item) for item in meta["original_sizes"]],
        )

    def save(self, name: str, image_size: int, channels: int, key: str, decoded: Decoded) -> Path:
        """Write the entry atomically (temporary files, then renames) and drop stale ones."""
        stem = self._stem(name, image_size, channels)
        array_path, meta_path = self._paths(stem, key)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = array_path.with_name(array_path.name + ".part")
        with open(partial, "wb") as handle:
            np.save(handle, np.ascontiguousarray(decoded.images))
        meta = {
            "kept": decoded.kept.tolist(),
            "skipped": [list(item) for item in decoded.skipped],
            "original_sizes": [list(item) for item in decoded.original_sizes],
        }
        meta_partial = meta_path.with_name(meta_path.name + ".part")
        meta_partial.write_text(json.dumps(meta))
        partial.replace(array_path)
        meta_partial.replace(meta_path)
        for stale in self.folder.glob(f"{stem}-*"):
            if stale not in (array_path, meta_path) and not stale.name.endswith(".part"):
                stale.unlink(missing_ok=True)
        return array_path
