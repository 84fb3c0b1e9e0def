"""Medical image formats: DICOM through pydicom and 2-D NIfTI slices through nibabel.

Both libraries are optional extras (``pip install flowgmm-ae[dicom]`` / ``[nifti]``); a missing one
is reported as a :class:`DataError` that says which extra to install. Each reader returns a
(H, W) float32 array in [0, 1].
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import numpy as np

from flowgmm_ae.data.base import DataError

DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
# "volume.nii.gz#12" names axial slice 12 of a 3-D volume (in CSV manifests).
_NIFTI_SLICE = re.compile(r"^(?P<file>.+\.nii(?:\.gz)?)#(?P<index>\d+)$", re.IGNORECASE)


def is_dicom(path: str | Path) -> bool:
    return str(path).lower().endswith(DICOM_SUFFIXES)


def is_nifti(path: str | Path) -> bool:
    text = str(path)
    return text.lower().endswith(NIFTI_SUFFIXES) or _NIFTI_SLICE.match(text) is not None


def nifti_file(path: str | Path) -> Path:
    """The file behind a NIfTI path, without a ``#slice`` suffix."""
    match = _NIFTI_SLICE.match(str(path))
    return Path(match["file"]) if match else Path(path)


def _optional(module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise DataError(
            f"reading this file needs {module}, which is not installed: "
            f"pip install 'flowgmm-ae[{extra}]' (or pip install {module})"
        ) from error


def _unit_range(array: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1]; a constant image becomes zeros."""
    low, high = float(array.min()), float(array.max())
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def _linear_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM's LINEAR VOI function (PS3.3 C.11.2.1.2.1) mapped to [0, 1]."""
    return np.clip((values - (center - 0.5)) / max(width - 1.0, 1.0) + 0.5, 0.0, 1.0)


def _first(value: object) -> float:
    """Window centre/width may be multi-valued; the first pair is the default view."""
    try:
        return float(value[0])  # type: ignore[index]
    except TypeError:
        return float(value)  # type: ignore[arg-type]


def read_dicom(path: str | Path) -> np.ndarray:
    """A single-frame DICOM image as (H, W) float32 in [0, 1].

    The stored values go through the modality transform (Rescale Slope/Intercept, e.g. to Hounsfield
    units), then the file's own window (Window Center/Width) if it has one, else min-max scaling;
    MONOCHROME1 images (bright = low values) are inverted so that bright means dense everywhere."""
    pydicom = _optional("pydicom", "dicom")
    from pydicom.pixels import apply_modality_lut

    try:
        dataset = pydicom.dcmread(str(path))
        pixels = dataset.pixel_array
    except Exception as error:  # pydicom raises many types for broken or pixel-less files
        raise DataError(f"could not read DICOM {path}: {error}") from error
    samples = int(dataset.get("SamplesPerPixel", 1))
    if (samples == 1 and pixels.ndim == 3) or pixels.ndim == 4:
        raise DataError(
            f"{path} is a multi-frame DICOM ({pixels.shape[0]} frames); export the frame to use as its "
            "own file"
        )
    if samples == 3:  # colour (e.g. dermoscopy, secondary captures): average to grey
        values = _unit_range(pixels.astype(np.float32).mean(axis=-1))
    else:
        values = np.asarray(apply_modality_lut(pixels, dataset), dtype=np.float32)
        if "WindowCenter" in dataset and "WindowWidth" in dataset:
            values = _linear_window(values, _first(dataset.WindowCenter), _first(dataset.WindowWidth))
        else:
            values = _unit_range(values)
    if str(dataset.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        values = 1.0 - values
    return values.astype(np.float32)


def read_nifti(path: str | Path) -> np.ndarray:
    """A 2-D NIfTI image, or slice ``k`` of a 3-D volume named ``file.nii.gz#k``, as (H, W) in [0, 1].

    Slices are taken along the last axis (axial for RAS volumes) and shown with the first voxel
    axis horizontal, as radiology viewers do."""
    nibabel = _optional("nibabel", "nifti")
    match = _NIFTI_SLICE.match(str(path))
    file = Path(match["file"]) if match else Path(path)
    try:
        volume = np.asarray(nibabel.load(str(file)).dataobj, dtype=np.float32)
    except Exception as error:  # nibabel raises ImageFileError, EOFError, zlib errors, ...
        raise DataError(f"could not read NIfTI {file}: {error}") from error
    volume = volume.reshape([n for n in volume.shape if n != 1] or [1])
    if match:
        if volume.ndim != 3:
            raise DataError(f"{file} has shape {volume.shape}; a '#slice' needs a 3-D volume")
        index = int(match["index"])
        if index >= volume.shape[2]:
            raise DataError(f"{file} has {volume.shape[2]} slices; slice {index} does not exist")
        volume = volume[:, :, index]
    elif volume.ndim != 2:
        raise DataError(
            f"{file} is a volume of shape {volume.shape}; flowgmm-ae reads 2-D images: name one slice "
            f"as '{file}#K' in a CSV manifest, or save slices as their own files"
        )
    if not np.isfinite(volume).all():
        volume = np.nan_to_num(volume, nan=0.0, posinf=0.0, neginf=0.0)
    return _unit_range(np.flipud(volume.T).astype(np.float32))
