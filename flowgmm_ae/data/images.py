"""Reading single image files (PNG, JPEG, TIFF, BMP) into model-ready tensors with Pillow.

Any mode (1, L, I;16, RGB, RGBA, P) and any size is converted to the model's channel count and
resized to its image size; unreadable files raise :class:`DataError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from flowgmm_ae.data.base import DataError
from flowgmm_ae.data.transforms import resize

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


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


def read_image(path: str | Path, channels: int = 1, size: int | None = None) -> torch.Tensor:
    """(C, H, W) float32 in [0, 1], resized to ``size`` × ``size`` when given."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            array = _to_unit_array(image, channels)
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
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    return resize(tensor.unsqueeze(0), size).squeeze(0) if size else tensor


def list_images(paths: list[str | Path]) -> list[Path]:
    """Image files among ``paths``: files as given, folders searched recursively, sorted."""
    found: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found += sorted(p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif entry.is_file():
            found.append(entry)
        else:
            raise DataError(f"{entry} does not exist")
    if not found:
        raise DataError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {paths}")
    return found
