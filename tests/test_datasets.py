"""File-based data sets: Kermany folders, ISIC CSVs, folder:PATH layouts and manifests, the decoded
cache, and unreadable files (skipped and listed, or fatal with --strict)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from flowgmm_ae.cli import main
from flowgmm_ae.data import DataError, load_dataset
from flowgmm_ae.data import filesets as filesets_module
from flowgmm_ae.data.kermany import LAYOUTS, list_records


def write_png(path: Path, value: int, size: int = 12, mode: str = "L") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    if mode == "RGB":
        array = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    else:
        array = np.clip(rng.normal(value, 20, (size, size)), 0, 255).astype(np.uint8)
    Image.fromarray(array, mode).save(path)
    return path


def kermany_tree(root: Path, classes: dict[str, int], per_class: int = 6) -> Path:
    for split in ("train", "test"):
        for class_name, value in classes.items():
            for i in range(per_class):
                stem = f"person{i}_bacteria_{i}" if class_name == "PNEUMONIA" and i % 2 else f"img{i}"
                write_png(root / split / class_name / f"{stem}.png", value + i)
    return root


def test_chestxray_layout_counts_subtypes_and_carved_validation(tmp_path):
    root = kermany_tree(tmp_path / "cx", {"NORMAL": 60, "PNEUMONIA": 180}, per_class=10)
    dataset = load_dataset("chestxray2017", 16, data_root=root, val_frac=0.2)
    assert dataset.summary() == {
        "train": {"normal": 8, "anomaly": 8},
        "val": {"normal": 2, "anomaly": 2},
        "test": {"normal": 10, "anomaly": 10},
    }
    assert dataset.test.subtype_counts() == {"NORMAL": 10, "PNEUMONIA": 5, "bacteria": 5}
    assert dataset.train.images.shape[1:] == (1, 16, 16) and dataset.image_sizes == {"12x12": 40}
    again = load_dataset("chestxray2017", 16, data_root=root, val_frac=0.2, seed=7)
    assert again.val.names == dataset.val.names  # the carved split does not move with the run seed
    # The archive's inner folder is found too.
    (tmp_path / "zip").mkdir()
    os.symlink(root, tmp_path / "zip" / "chest_xray")
    assert len(load_dataset("chestxray2017", 16, data_root=tmp_path / "zip").test) == 20


def test_oct_keeps_the_three_disease_subtypes(tmp_path):
    root = kermany_tree(tmp_path / "oct", {"NORMAL": 50, "CNV": 120, "DME": 160, "DRUSEN": 200}, per_class=3)
    dataset = load_dataset("oct2017", 16, data_root=root)
    assert dataset.test.counts() == {"normal": 3, "anomaly": 9}
    assert dataset.test.subtype_counts() == {"CNV": 3, "DME": 3, "DRUSEN": 3, "NORMAL": 3}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root: (root / "train" / "OTHER").mkdir(), "unknown class folder"),
        (lambda root: [p.unlink() for p in (root / "test" / "NORMAL").iterdir()], "holds no images"),
        (lambda root: (root / "test" / "NORMAL").rename(root / "elsewhere"), "NORMAL is missing"),
    ],
)
def test_kermany_layout_errors_name_what_is_wrong(tmp_path, damage, message):
    root = kermany_tree(tmp_path / "cx", {"NORMAL": 60, "PNEUMONIA": 180}, per_class=3)
    damage(root)
    with pytest.raises(DataError, match=message):
        list_records(LAYOUTS["chestxray2017"], root)


def test_missing_root_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWGMM_AE_DATA", str(tmp_path))
    with pytest.raises(DataError, match="--data-root"):
        load_dataset("chestxray2017", 16)


def test_isic_csv_layout(tmp_path):
    classes = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
    for part, count in (("Training", 14), ("Validation", 7)):
        lines = ["image," + ",".join(classes)]
        for i in range(count):
            image_id = f"ISIC_{part}_{i:04d}"
            write_png(tmp_path / f"ISIC2018_Task3_{part}_Input" / f"{image_id}.jpg", i * 10, mode="RGB")
            hot = ["1.0" if c == classes[i % 7] else "0.0" for c in classes]
            lines.append(image_id + "," + ",".join(hot))
        truth = tmp_path / f"ISIC2018_Task3_{part}_GroundTruth" / f"ISIC2018_Task3_{part}_GroundTruth.csv"
        truth.parent.mkdir()
        truth.write_text("\n".join(lines) + "\n")
    dataset = load_dataset("isic2018", 16, data_root=tmp_path, val_frac=0.3)
    assert dataset.in_channels == 3
    assert dataset.test.counts() == {"normal": 1, "anomaly": 6}  # Validation serves as test
    assert set(dataset.test.subtypes) == set(classes)
    assert any("Validation set serves as the test split" in note for note in dataset.notes)
    truth.write_text("image," + ",".join(classes) + "\nISIC_x,1,1,0,0,0,0,0\n")
    with pytest.raises(DataError, match="without exactly one class"):
        load_dataset("isic2018", 16, data_root=tmp_path)


def test_folder_layout_without_splits_carves_test_and_val(tmp_path):
    for i in range(20):
        write_png(tmp_path / "mine" / "Normal" / f"n{i}.png", 40 + i)
    for i in range(10):
        write_png(tmp_path / "mine" / "abnormal" / ("tumour" if i % 2 else "cyst") / f"a{i}.png", 200 - i)
    dataset = load_dataset(f"folder:{tmp_path / 'mine'}", 16)
    assert dataset.name == "folder-mine" and dataset.in_channels == 1
    assert dataset.summary()["test"] == {"normal": 4, "anomaly": 2}
    assert sum(len(getattr(dataset, s)) for s in ("train", "val", "test")) == 30
    assert set(dataset.train.subtypes) == {"normal", "tumour", "cyst"}


def test_folder_layout_with_splits_and_errors(tmp_path):
    root = tmp_path / "mine"
    for split in ("train", "test"):
        for i in range(4):
            write_png(root / split / "normal" / f"n{i}.png", 50 + i)
            write_png(root / split / "abnormal" / f"a{i}.png", 200 - i)
    dataset = load_dataset(f"folder:{root}", 16, val_frac=0.25)
    assert dataset.summary()["test"] == {"normal": 4, "anomaly": 4}
    assert dataset.summary()["val"] == {"normal": 1, "anomaly": 1}
    for path in (root / "test" / "abnormal").iterdir():
        path.unlink()
    with pytest.raises(DataError, match="abnormal holds no images"):
        load_dataset(f"folder:{root}", 16)
    with pytest.raises(DataError, match="neither normal/ and abnormal/"):
        load_dataset(f"folder:{tmp_path / 'mine' / 'test' / 'normal'}", 16)


def test_csv_manifest_with_splits_colour_and_unknown_labels(tmp_path):
    rows = ["path,label,split,subtype"]
    for split in ("train", "val", "test"):
        for i in range(3):
            write_png(tmp_path / "img" / f"{split}_n{i}.png", 1, mode="RGB")
            write_png(tmp_path / "img" / f"{split}_a{i}.png", 2, mode="RGB")
            rows += [f"img/{split}_n{i}.png,normal,{split},", f"img/{split}_a{i}.png,1,{split},lesion"]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    dataset = load_dataset(f"folder:{manifest}", 16)
    assert dataset.in_channels == 3
    assert dataset.summary() == {s: {"normal": 3, "anomaly": 3} for s in ("train", "val", "test")}
    assert set(dataset.test.subtypes) == {"normal", "lesion"}
    manifest.write_text("path,label\nimg/train_n0.png,maybe\n")
    with pytest.raises(DataError, match="unknown label.*'maybe'"):
        load_dataset(f"folder:{manifest}", 16)
    # Found by tests/test_fuzz.py: a NUL byte in a path raised a bare ValueError from the OS layer.
    manifest.write_text("path,label\nimg/train_n0.png,normal\nimg/\x00.png,normal\n")
    with pytest.raises(DataError, match="the path on line 3 holds a NUL byte"):
        load_dataset(f"folder:{manifest}", 16)


def test_unreadable_files_are_skipped_and_listed_or_fatal_with_strict(tmp_path):
    root = kermany_tree(tmp_path / "cx", {"NORMAL": 60, "PNEUMONIA": 180}, per_class=6)
    (root / "train" / "NORMAL" / "empty.png").write_bytes(b"")
    good = (root / "train" / "NORMAL" / "img0.png").read_bytes()
    (root / "test" / "PNEUMONIA" / "truncated.png").write_bytes(good[: len(good) // 2])
    dataset = load_dataset("chestxray2017", 16, data_root=root)
    assert sorted(Path(item.path).name for item in dataset.skipped) == ["empty.png", "truncated.png"]
    assert dataset.test.counts() == {"normal": 6, "anomaly": 6}
    with pytest.raises(DataError, match="--strict"):
        load_dataset("chestxray2017", 16, data_root=root, strict=True)


def test_cache_is_used_and_invalidated_when_a_file_changes(tmp_path, monkeypatch):
    root = kermany_tree(tmp_path / "cx", {"NORMAL": 60, "PNEUMONIA": 180}, per_class=4)
    cache = tmp_path / "cache"
    first = load_dataset("chestxray2017", 16, data_root=root, cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache holds these files")

    with monkeypatch.context() as patch:
        patch.setattr(filesets_module, "decode_files", no_decoding)
        cached = load_dataset("chestxray2017", 16, data_root=root, cache_dir=cache)
    assert (cached.test.images[:] == first.test.images[:]).all()

    changed = root / "test" / "NORMAL" / "img0.png"
    Image.fromarray(np.full((12, 12), 255, dtype=np.uint8)).save(changed)
    os.utime(changed, ns=(1, 10**18))  # a new mtime even on coarse file systems
    reread = load_dataset("chestxray2017", 16, data_root=root, cache_dir=cache)
    index = reread.test.names.index(str(changed))
    assert reread.test.images[index].min() == 1.0
    assert len(list(cache.glob("*.npy"))) == 1  # the stale entry was replaced


def test_data_info_command_and_training_on_a_folder(tmp_path):
    root = tmp_path / "mine"
    for i in range(24):
        write_png(root / "normal" / f"n{i}.png", 40 + i)
    for i in range(12):
        write_png(root / "abnormal" / f"a{i}.png", 200 - i)
    (root / "normal" / "broken.png").write_bytes(b"\x89PNG garbage")
    runner = CliRunner()
    result = runner.invoke(main, ["data", "info", "--dataset", f"folder:{root}", "--image-size", "16"])
    assert result.exit_code == 0, result.output
    assert "Skipped (unreadable) files: 1" in result.output and "broken.png" in result.output
    assert "12x12 (36)" in result.output
    from tiny import tiny_cli_args

    out = tmp_path / "run"
    args = ["train", *tiny_cli_args(dataset=f"folder:{root}"), "--labeled-frac", "0.2", "--out", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "broken.png" in (out / "skipped_files.txt").read_text()
    header = (out / "scores.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["index", "label", "file", "subtype"]
    evaluated = runner.invoke(main, ["evaluate", str(out)])
    assert evaluated.exit_code == 0, evaluated.output
    strict = runner.invoke(main, ["train", *tiny_cli_args(dataset=f"folder:{root}"), "--strict"])
    assert strict.exit_code != 0 and "broken.png" in strict.output and "Traceback" not in strict.output


def test_unknown_dataset_is_a_usage_error():
    result = CliRunner().invoke(main, ["data", "info", "--dataset", "mnist"])
    assert result.exit_code == 2 and "folder:PATH" in result.output


@pytest.mark.realdata
def test_real_chestxray2017_has_the_official_counts(data_root):
    from conftest import _require

    root = _require(data_root / "chestxray2017", "ChestXRay2017")
    records = list_records(LAYOUTS["chestxray2017"], root)
    counts = {
        (split, label): sum(r.split == split and r.label == label for r in records)
        for split in ("train", "test")
        for label in (0, 1)
    }
    assert counts == {("train", 0): 1341, ("train", 1): 3875, ("test", 0): 234, ("test", 1): 390}
    dataset = load_dataset("chestxray2017", 32, data_root=root)  # decodes all 5840 JPEGs (seconds)
    assert dataset.test.counts() == {"normal": 234, "anomaly": 390}
    assert len(dataset.train) + len(dataset.val) == 5216 and not dataset.skipped
    assert dataset.image_sizes == {"224x224": 5840}
    # Validation is carved by patient: 1635 person ids and 1211 IM- ids in train/, 427 in test/.
    assert dataset.group_overlap() == {"train-val": 0, "train-test": 0, "val-test": 0}
    groups = dataset.group_summary()
    assert groups["train"] + groups["val"] == 2846 and groups["test"] == 427
