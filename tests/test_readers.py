"""Reading single files: Pillow modes and bit depths, DICOM (rescale, window, MONOCHROME1), NIfTI."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
from PIL import Image

from flowgmm_ae.data import DataError
from flowgmm_ae.data.images import list_images, read_image

pydicom = pytest.importorskip("pydicom")
nibabel = pytest.importorskip("nibabel")


def write_dicom(path, pixels: np.ndarray, photometric="MONOCHROME2", slope=1.0, intercept=0.0, window=None):
    """A minimal single-frame 16-bit DICOM file written with pydicom."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_sixteen_bit_png_uses_its_full_range(tmp_path):
    values = np.linspace(1000, 60000, 64, dtype=np.uint16).reshape(8, 8)
    Image.fromarray(values).save(tmp_path / "deep.png")
    image = read_image(tmp_path / "deep.png", channels=1)
    assert image.shape == (1, 8, 8)
    assert image.min() == 0.0 and image.max() == 1.0
    assert (image.flatten().diff() > 0).all()  # order kept, no 8-bit clipping


def test_rgba_png_is_composited_on_black_and_resized(tmp_path):
    rgba = np.zeros((20, 30, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[:, :15, 3] = 255  # left half opaque red, right half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png", channels=3, size=16)
    assert image.shape == (3, 16, 16)
    assert image[0, :, :4].mean() > 0.95 and image[0, :, -4:].mean() < 0.05
    assert image[1:].max() < 0.05


def test_dicom_rescale_window_and_monochrome1(tmp_path):
    # Stored 0..2000 with intercept -1000: values -1000..1000 HU; window 0 ± 200 (centre 0, width 400).
    stored = np.tile(np.arange(0, 2000, 125), (16, 1))
    path = write_dicom(tmp_path / "ct.dcm", stored, intercept=-1000.0, window=(0, 400))
    image = read_image(path, channels=1)[0].numpy()
    hu = stored - 1000
    assert np.allclose(image[hu <= -201], 0.0) and np.allclose(image[hu >= 200], 1.0)
    middle = (hu > -150) & (hu < 150)
    assert np.allclose(image[middle], (hu[middle] + 0.5) / 399 + 0.5, atol=1e-4)
    inverted = read_image(
        write_dicom(tmp_path / "m1.dcm", stored, "MONOCHROME1", intercept=-1000.0, window=(0, 400)),
        channels=1,
    )[0].numpy()
    assert np.allclose(inverted, 1.0 - image, atol=1e-6)


def test_dicom_without_window_is_min_max_scaled_and_listed(tmp_path):
    stored = np.arange(64).reshape(8, 8) * 10
    write_dicom(tmp_path / "x.dcm", stored, slope=2.0)
    image = read_image(tmp_path / "x.dcm", channels=3, size=4)
    assert image.shape == (3, 4, 4) and image.min() >= 0 and image.max() <= 1
    assert list_images([tmp_path]) == [tmp_path / "x.dcm"]


def test_nifti_slice_and_volume(tmp_path):
    plane = np.arange(12, dtype=np.float32).reshape(3, 4)  # voxel axes (x, y)
    nibabel.save(nibabel.Nifti1Image(plane, np.eye(4)), tmp_path / "slice.nii.gz")
    image = read_image(tmp_path / "slice.nii.gz", channels=1)[0].numpy()
    assert image.shape == (4, 3)  # rows are y (flipped), columns x
    assert image[-1, 0] == 0.0 and image[0, -1] == 1.0
    volume = np.stack([plane, plane * 0 + 5, plane * 2], axis=2)
    nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), tmp_path / "vol.nii")
    with pytest.raises(DataError, match="#K"):
        read_image(tmp_path / "vol.nii")
    assert np.allclose(read_image(f"{tmp_path / 'vol.nii'}#2")[0].numpy(), image)
    with pytest.raises(DataError, match="slice 3 does not exist"):
        read_image(f"{tmp_path / 'vol.nii'}#3")


def test_missing_extra_names_the_install_command(tmp_path, monkeypatch):
    write_dicom(tmp_path / "x.dcm", np.ones((4, 4)))
    real_import = builtins.__import__

    def no_pydicom(name, *args, **kwargs):
        if name.startswith("pydicom"):
            raise ImportError("No module named 'pydicom'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pydicom)
    monkeypatch.delitem(__import__("sys").modules, "pydicom", raising=False)
    with pytest.raises(DataError, match=r"flowgmm-ae\[dicom\]"):
        read_image(tmp_path / "x.dcm")


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff\xe0 not really a jpeg"])
def test_broken_files_raise_data_error(tmp_path, content):
    path = tmp_path / "broken.jpeg"
    path.write_bytes(content)
    with pytest.raises(DataError, match="broken.jpeg"):
        read_image(path)
