"""Reading single image files into model-ready arrays and tensors.

PNG, JPEG, TIFF and BMP go through Pillow (any mode: 1, L, I;16, RGB, RGBA, P; any size); DICOM and
NIfTI through :mod:`flowgmm_ae.data.medical`. Everything is converted to the model's channel count
and resized to its image size; unreadable files raise :class:`DataError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from flowgmm_ae.data.base import DataError
from flowgmm_ae.data.medical import is_dicom, is_nifti, read_dicom, read_nifti
from flowgmm_ae.data.transforms import resize

PILLOW_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` has a suffix one of the readers handles."""
    name = str(path).lower()
    return Path(name).suffix in PILLOW_SUFFIXES or is_dicom(name) or is_nifti(name)


def _to_unit_array(image: Image.Image, channels: int) -> np.ndarray:
    """(H, W, C) float32 in [0, 1]; 16-bit and 32-bit grey images are scaled by their own range."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float32)
        low, high = float(array.min()), float(array.max())
        array = (array - low) / (high - low) if high > low else np.zeros_like(array)
        array = array[..., None]
        return np.repeat(array, channels, axis=2) if channels == 3 else array
    mode = "L" if channels == 1 else "RGB"
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image)
    array = np.asarray(image.convert(mode), dtype=np.float32) / 255.0
    return array[..., None] if array.ndim == 2 else array


def _read_pillow(path: Path, channels: int, size: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    with Image.open(path) as image:
        original = image.size
        if size and image.format == "JPEG":
            # Decode large JPEGs at a reduced scale (still ≥ size): several times faster.
            image.draft("L" if channels == 1 else "RGB", (size, size))
        image.load()
        return _to_unit_array(image, channels), original


def read_array(
    path: str | Path, channels: int = 1, size: int | None = None
) -> tuple[np.ndarray, tuple[int, int]]:
    """(H, W, C) float32 in [0, 1] at (roughly) full resolution, and the original (width, height).

    ``size`` is only a hint that lets JPEG decoding skip detail the resize would discard."""
    if is_dicom(path) or is_nifti(path):
        grey = read_dicom(path) if is_dicom(path) else read_nifti(path)
        array = np.repeat(grey[..., None], channels, axis=2)
        return array, (grey.shape[1], grey.shape[0])
    path = Path(path)
    try:
        return _read_pillow(path, channels, size)
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
    ) as error:
        # Pillow signals broken files with any of these (SyntaxError for some corrupt chunks).
        raise DataError(f"could not read image {path}: {error}") from error


def read_image(path: str | Path, channels: int = 1, size: int | None = None) -> torch.Tensor:
    """(C, H, W) float32 in [0, 1], resized to ``size`` × ``size`` when given."""
    array, _ = read_array(path, channels, size)
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    return resize(tensor.unsqueeze(0), size).squeeze(0) if size else tensor


def list_images(paths: list[str | Path]) -> list[Path]:
    """Image files among ``paths``: files as given, folders searched recursively, sorted."""
    found: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found += sorted(p for p in entry.rglob("*") if p.is_file() and is_image_file(p))
        elif entry.is_file():
            found.append(entry)
        else:
            raise DataError(f"{entry} does not exist")
    if not found:
        known = ", ".join(sorted(PILLOW_SUFFIXES | {".dcm", ".nii", ".nii.gz"}))
        raise DataError(f"no image files ({known}) found in {paths}")
    return found
