from pathlib import Path

import numpy as np
import pytest
import torch

from flowgmm_ae.data import DataError, load_dataset
from flowgmm_ae.data.medmnist import locate
from flowgmm_ae.data.synthetic import make_synthetic
from flowgmm_ae.data.transforms import (
    ORIENTATION_THRESHOLD,
    augment,
    flip_rotate,
    orientation_asymmetry,
    resolve_flip_rotate,
)


def write_fake_medmnist(path: Path, n: int = 20, train_anomalies: bool = True) -> Path:
    rng = np.random.default_rng(0)
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n) % 2
        if split == "train" and not train_anomalies:
            labels[:] = 0
        arrays[f"{split}_labels"] = labels.reshape(-1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def test_locate_prefers_data_root_then_env(tmp_path, monkeypatch):
    env_file = write_fake_medmnist(tmp_path / "env" / "medmnist" / "pneumoniamnist.npz")
    root_file = write_fake_medmnist(tmp_path / "root" / "pneumoniamnist.npz")
    monkeypatch.setenv("FLOWGMM_AE_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert locate("pneumoniamnist", tmp_path / "root") == root_file
    assert locate("pneumoniamnist", None) == env_file
    assert locate("pneumoniamnist", root_file) == root_file  # the file itself


def test_missing_file_offline_names_the_file_and_the_places(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWGMM_AE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DataError) as info:
        load_dataset("pneumoniamnist", 32, data_root=tmp_path / "nowhere")
    message = str(info.value)
    assert "pneumoniamnist.npz" in message and str(tmp_path / "nowhere") in message
    assert "--data-root" in message


def test_fallback_to_synthetic_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWGMM_AE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    dataset = load_dataset("pneumoniamnist", 16, fallback_to_synthetic=True)
    assert dataset.name == "synthetic" and "fell back" in dataset.notes[0]


def test_local_copy_loads_resized_in_unit_range(tmp_path):
    path = write_fake_medmnist(tmp_path / "pneumoniamnist.npz")
    dataset = load_dataset("pneumoniamnist", 32, data_root=tmp_path)
    assert dataset.source == str(path)
    assert dataset.train.images.shape == (20, 1, 32, 32)
    assert 0.0 <= dataset.train.images.min() and dataset.train.images.max() <= 1.0
    assert dataset.summary()["test"] == {"normal": 10, "anomaly": 10}


def test_malformed_file_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "pneumoniamnist.npz", something=np.zeros(3))
    with pytest.raises(DataError, match="missing array"):
        load_dataset("pneumoniamnist", 28, data_root=tmp_path)


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown data set"):
        load_dataset("mnist", 28)


def test_synthetic_is_seeded_and_anomalies_differ():
    a, b = make_synthetic(16, seed=3), make_synthetic(16, seed=3)
    torch.testing.assert_close(a.train.images, b.train.images)
    assert not torch.equal(a.train.images, make_synthetic(16, seed=4).train.images)
    normal = a.test.images[a.test.labels == 0]
    anomalous = a.test.images[a.test.labels == 1]
    # lesions make anomalies deviate more from the 0.5 background
    assert (anomalous - 0.5).abs().amax((1, 2, 3)).mean() > (normal - 0.5).abs().amax((1, 2, 3)).mean()


def test_real_pneumoniamnist_has_the_official_split(pneumoniamnist):
    dataset = load_dataset("pneumoniamnist", 28, data_root=pneumoniamnist)
    assert dataset.summary() == {
        "train": {"normal": 1214, "anomaly": 3494},
        "val": {"normal": 135, "anomaly": 389},
        "test": {"normal": 234, "anomaly": 390},
    }


def test_augment_is_seeded_small_and_in_range():
    x = torch.rand(8, 1, 16, 16)
    a = augment(x, torch.Generator().manual_seed(0))
    b = augment(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    assert a.min() >= 0 and a.max() <= 1 and not torch.equal(a, x)
    assert (a - x).abs().mean() < 0.3


def test_flip_rotate_gives_each_image_one_of_the_squares_eight_symmetries():
    x = torch.rand(64, 3, 8, 8)
    out = flip_rotate(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, flip_rotate(x, torch.Generator().manual_seed(0)))
    symmetries = [
        lambda t, k=k, m=m: torch.rot90(t.flip(-1) if m else t, k, dims=(-2, -1))
        for k in range(4)
        for m in (False, True)
    ]
    seen = set()
    for image, result in zip(x, out, strict=True):
        matches = [i for i, sym in enumerate(symmetries) if torch.equal(sym(image), result)]
        assert len(matches) == 1  # random images have no symmetry of their own
        seen.add(matches[0])
    assert seen == set(range(8))
    with pytest.raises(ValueError, match="square"):
        flip_rotate(torch.rand(2, 1, 8, 6), torch.Generator())


def test_auto_flips_only_images_without_a_preferred_orientation():
    generator = torch.Generator().manual_seed(0)
    noise = torch.rand(200, 1, 16, 16, generator=generator) * 0.2
    ramp = torch.linspace(0, 1, 16).view(1, 1, 16, 1)  # bright at the bottom, as a body has a top
    oriented, unoriented = noise + 0.6 * ramp, noise + 0.3
    assert orientation_asymmetry(oriented) > 2 * ORIENTATION_THRESHOLD
    assert orientation_asymmetry(unoriented) < ORIENTATION_THRESHOLD / 2
    assert resolve_flip_rotate("auto", oriented) == "none"
    assert resolve_flip_rotate("auto", unoriented) == "labeled"
    assert resolve_flip_rotate("all", oriented) == "all"  # an explicit mode is kept
    assert orientation_asymmetry(torch.zeros(3, 1, 8, 8)) == 0.0


def test_download_checks_md5_and_renames_atomically(tmp_path):
    from flowgmm_ae.data.medmnist import download, md5sum

    source = write_fake_medmnist(tmp_path / "remote.npz")
    url = source.resolve().as_uri()
    target = tmp_path / "cache" / "pneumoniamnist.npz"
    assert download(url, target, md5sum(source)) == target and target.is_file()
    bad_target = tmp_path / "cache" / "other.npz"
    with pytest.raises(DataError, match="md5"):
        download(url, bad_target, "0" * 32)
    assert not bad_target.exists() and not list(bad_target.parent.glob("*.part"))
