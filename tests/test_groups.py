"""Splits carved by group (patient, lesion), never by image: Kermany's patient ids in file names,
ISIC's lesion_id, folder: sets' --group-pattern and manifest group column, and what data info says."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from flowgmm_ae.cli import format_data_info, main
from flowgmm_ae.data import DataError, load_dataset
from flowgmm_ae.data.base import Split
from flowgmm_ae.data.filesets import SPLIT_SEED, FileRecord, assign_splits, group_take
from flowgmm_ae.data.kermany import patient_group, patient_id

VAL_FRAC = 0.2
# A class's share in the carved validation split may miss val_frac by whole groups: with at most
# three images a patient and dozens of images a class, 0.1 absolute is a loose but failing bound.
SHARE_TOLERANCE = 0.1


@pytest.fixture(autouse=True)
def _propagate_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI stops the package logger from propagating; caplog listens at the root."""
    monkeypatch.setattr(logging.getLogger("flowgmm_ae"), "propagate", True)


def write_image(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8), "L").save(path)


def chestxray_tree(root: Path) -> Path:
    """Kermany-style names with several images a patient; test/ reuses train's numbers on purpose."""
    rng = np.random.default_rng(1)
    value = 0
    for split, patients in (("train", 40), ("test", 8)):
        for p in range(1, patients + 1):
            for k in range(1, int(rng.integers(1, 4)) + 1):
                name = f"IM-{p:04d}-{k:04d}.jpeg" if p % 2 else f"NORMAL2-IM-{p:04d}-{k:04d}.jpeg"
                write_image(root / split / "NORMAL" / name, value := value + 1)
            virus = int(rng.integers(0, 3)) if p % 3 else 0
            for k, kind in enumerate(["bacteria"] * int(rng.integers(1, 4)) + ["virus"] * virus):
                name = f"person{p}_{kind}_{100 * p + k}.jpeg"
                write_image(root / split / "PNEUMONIA" / name, value := value + 1)
    write_image(root / "train" / "NORMAL" / "scan.jpeg", 999)  # a name without a patient id
    return root


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("person123_bacteria_456.jpeg", "person123"),
        ("person123_virus_457.jpeg", "person123"),
        ("person447_virus_921_1.jpeg", "person447"),
        ("IM-0115-0001.jpeg", "IM-0115"),
        ("IM-0429-0001-0002.jpeg", "IM-0429"),
        ("NORMAL2-IM-1427-0001.jpeg", "NORMAL2-IM-1427"),
        ("CNV-1016042-1.jpeg", "1016042"),
        ("DRUSEN-1016042-7.jpeg", "1016042"),
        ("NORMAL-1016042-3.jpeg", "1016042"),
        ("scan.jpeg", None),
        ("img3.png", None),
    ],
)
def test_patient_id_from_kermany_file_names(name, expected):
    assert patient_id(name) == expected


def test_patient_groups_are_numbered_per_official_folder():
    assert patient_group("train", "person1_virus_2.jpeg") == "train/person1"
    assert patient_group("val", "person1_bacteria_3.jpeg") == "train/person1"  # val joins train's pool
    assert patient_group("test", "person1_virus_2.jpeg") == "test/person1"
    assert patient_group("train", "scan.jpeg") is None


def test_chestxray_validation_shares_no_patient_with_train(tmp_path):
    root = chestxray_tree(tmp_path / "cx")
    dataset = load_dataset("chestxray2017", image_size=8, data_root=root, val_frac=VAL_FRAC, use_cache=False)
    train, val, test = dataset.train, dataset.val, dataset.test
    assert not set(train.groups) & set(val.groups)
    assert dataset.group_overlap() == {"train-val": 0, "train-test": 0, "val-test": 0}
    assert all(group.startswith("test/") for group in test.groups)
    pool_groups = train.groups + val.groups
    assert all(group.startswith("train/") or group.endswith("scan.jpeg") for group in pool_groups)
    # Every group that holds several images was found (none is lost to a per-image fallback).
    assert max(Counter(train.groups).values()) > 1 and max(Counter(val.groups).values()) > 1
    for label in (0, 1):
        pool = int((train.labels == label).sum() + (val.labels == label).sum())
        share = (val.labels == label).sum() / pool
        assert abs(share - VAL_FRAC) <= SHARE_TOLERANCE, (label, share)
    # A person with bacteria and virus images is one group, so all of them are in one split.
    mixed = {Path(n).name.split("_")[0] for n in train.names + val.names if "_virus_" in n} & {
        Path(n).name.split("_")[0] for n in train.names + val.names if "_bacteria_" in n
    }
    assert mixed
    for person in mixed:
        assert (f"train/{person}" in train.groups) != (f"train/{person}" in val.groups)
    assert "patient id" in dataset.grouping
    assert any("scan.jpeg" in note and "own group" in note for note in dataset.notes)
    again = load_dataset("chestxray2017", 8, data_root=root, val_frac=VAL_FRAC, seed=5, use_cache=False)
    assert again.val.names == val.names  # carved with the fixed split seed, not the run's


def test_oct_patient_with_several_classes_is_one_group(tmp_path):
    root = tmp_path / "oct"
    value = 0
    for split in ("train", "test"):
        for p in range(1, 13):
            for class_name in ("NORMAL", "CNV", "DME", "DRUSEN"):
                if (p + len(class_name)) % 2 or class_name == "NORMAL":
                    for k in (1, 2):
                        name = f"{class_name}-{1000 + p}-{k}.jpeg"
                        write_image(root / split / class_name / name, value := value + 1)
    dataset = load_dataset("oct2017", image_size=8, data_root=root, val_frac=0.25, use_cache=False)
    assert not set(dataset.train.groups) & set(dataset.val.groups)
    for group in set(dataset.val.groups):
        classes = {s for g, s in zip(dataset.val.groups, dataset.val.subtypes, strict=True) if g == group}
        assert "NORMAL" in classes and len(classes) > 1  # the patient's disease images came along


def test_group_take_takes_whole_groups_and_keeps_strata_shares():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"g{i}" for i in range(60)], rng.integers(1, 5, 60))
    strata = np.array(["normal" if int(g[1:]) < 40 else "anomaly" for g in groups])
    mask = group_take(strata, groups, 0.25, np.random.default_rng(SPLIT_SEED))
    assert not set(groups[mask]) & set(groups[~mask])
    for stratum in ("normal", "anomaly"):
        share = mask[strata == stratum].mean()
        assert abs(share - 0.25) <= SHARE_TOLERANCE, (stratum, share)
    again = group_take(strata, groups, 0.25, np.random.default_rng(SPLIT_SEED))
    np.testing.assert_array_equal(mask, again)


def test_group_take_takes_one_but_never_all_groups_of_a_stratum():
    strata = np.array(["a"] * 5 + ["b"] * 3)
    groups = np.array(["x"] * 4 + ["y"] + ["z"] * 3)  # a: one big and one small group; b: one group
    mask = group_take(strata, groups, 0.01, np.random.default_rng(0))
    assert mask[:5].sum() in (1, 4)  # one whole group of a ...
    assert not mask[5:].any()  # ... and nothing of b, whose only group would be all of it
    assert group_take(strata, groups, 0.99, np.random.default_rng(0))[:5].sum() in (1, 4)


def test_assign_splits_compares_groups_only_within_the_pool():
    records = [FileRecord(f"t{i}", i % 2, "x", "test", group="p1") for i in range(4)]
    records += [FileRecord(f"r{i}", i % 2, "x", None, group=f"p{i // 2}") for i in range(20)]
    splits = assign_splits(records, val_frac=0.3)
    assert splits[:4] == ["test"] * 4
    by_group: dict[str, set[str]] = {}
    for record, split in zip(records[4:], splits[4:], strict=True):
        by_group.setdefault(record.group, set()).add(split)
    assert all(len(parts) == 1 for parts in by_group.values())
    assert "val" in splits


def test_folder_with_group_pattern_gives_group_disjoint_splits(tmp_path, caplog):
    root = tmp_path / "mine"
    for p in range(30):
        for k in range(1 + p % 3):
            write_image(root / ("abnormal" if p % 3 == 0 else "normal") / f"p{p}_{k}.png", 10 * p + k)
    write_image(root / "normal" / "loose.png", 7)
    with caplog.at_level(logging.WARNING, logger="flowgmm_ae"):
        dataset = load_dataset(f"folder:{root}", image_size=8, group_pattern=r"^(p\d+)_", use_cache=False)
    assert dataset.group_overlap() == {"train-val": 0, "train-test": 0, "val-test": 0}
    assert set(dataset.test.groups) >= {"p0"} or set(dataset.train.groups) >= {"p0"}
    assert "p3" in set(dataset.train.groups + dataset.val.groups + dataset.test.groups)
    assert "--group-pattern" in dataset.grouping
    assert "1 of" in caplog.text and "loose.png" in caplog.text
    assert "do not match --group-pattern" in caplog.text


def test_official_splits_sharing_groups_are_kept_and_noted(tmp_path):
    root = tmp_path / "mine"
    for split in ("train", "test"):
        for p in range(10):
            write_image(root / split / "normal" / f"p{p}_{split}.png", p)
            write_image(root / split / "abnormal" / f"p{p + 10}_{split}.png", 50 + p)
    write_image(root / "test" / "normal" / "q99_test.png", 99)
    pattern = r"^(\w\d+)_"
    dataset = load_dataset(f"folder:{root}", 8, val_frac=0.3, group_pattern=pattern, use_cache=False)
    overlap = dataset.group_overlap()
    assert overlap["train-val"] == 0  # carved: disjoint
    assert overlap["train-test"] + overlap["val-test"] == 20  # official: kept, every patient in both
    assert len(dataset.test) == 21
    assert any("train and test share" in note for note in dataset.notes)


def test_manifest_group_column_is_respected(tmp_path, caplog):
    rows = ["path,label,group"]
    for i in range(48):
        patient = f"patient-{i // 3}"
        write_image(tmp_path / "img" / f"{i}.png", i)
        rows.append(f"img/{i}.png,{'abnormal' if (i // 3) % 4 == 0 else 'normal'},{patient}")
    manifest = tmp_path / "list.csv"
    manifest.write_text("\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING, logger="flowgmm_ae"):
        dataset = load_dataset(f"folder:{manifest}", image_size=8, group_pattern=r"(\d+)", use_cache=False)
    assert "group column" in dataset.grouping and "--group-pattern is ignored" in caplog.text
    assert dataset.group_overlap() == {"train-val": 0, "train-test": 0, "val-test": 0}
    for split in (dataset.train, dataset.val, dataset.test):
        for name, group in zip(split.names, split.groups, strict=True):
            assert group == f"patient-{int(Path(name).stem) // 3}"


def test_bad_group_pattern_is_a_data_error(tmp_path):
    write_image(tmp_path / "mine" / "normal" / "p1_0.png", 1)
    write_image(tmp_path / "mine" / "abnormal" / "p2_0.png", 2)
    with pytest.raises(DataError, match="--group-pattern"):
        load_dataset(f"folder:{tmp_path / 'mine'}", image_size=8, group_pattern="(p", use_cache=False)
    args = ["data", "info", "--dataset", f"folder:{tmp_path / 'mine'}", "--group-pattern", "(p", "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "--group-pattern" in result.output and "Traceback" not in result.output


def test_without_groups_a_warning_says_splits_are_carved_per_image(tmp_path, caplog):
    for i in range(10):
        write_image(tmp_path / "mine" / "normal" / f"n{i}.png", i)
        write_image(tmp_path / "mine" / "abnormal" / f"a{i}.png", 50 + i)
    with caplog.at_level(logging.WARNING, logger="flowgmm_ae"):
        dataset = load_dataset(f"folder:{tmp_path / 'mine'}", image_size=8, use_cache=False)
    assert "val and test are carved per image" in caplog.text and "--group-pattern" in caplog.text
    assert dataset.grouping.startswith("per image")
    assert dataset.train.groups == dataset.train.names  # each image is its own group


def isic_tree(root: Path, lesion_table: bool) -> Path:
    classes = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
    meta = ["lesion_id,image_id,dx"]
    for part, count in (("Training", 42), ("Validation", 14)):
        lines = ["image," + ",".join(classes)]
        for i in range(count):
            image_id = f"ISIC_{part}_{i:04d}"
            write_image(root / f"ISIC2018_Task3_{part}_Input" / f"{image_id}.png", i)
            lesion = i // 3  # three images a lesion, one class a lesion
            lines.append(image_id + "," + ",".join("1" if c == classes[lesion % 7] else "0" for c in classes))
            if part == "Training":
                meta.append(f"HAM_{lesion:07d},{image_id},{classes[lesion % 7].lower()}")
        # Ground-truth files named without "GroundTruth": every CSV but the lesion table is one.
        (root / f"ISIC2018_Task3_{part}.csv").write_text("\n".join(lines) + "\n")
    if lesion_table:
        (root / "HAM10000_metadata.csv").write_text("\n".join(meta) + "\n")
    return root


def test_isic_validation_is_carved_by_lesion(tmp_path):
    root = isic_tree(tmp_path / "isic", lesion_table=True)
    dataset = load_dataset("isic2018", image_size=8, data_root=root, val_frac=0.3, use_cache=False)
    assert len(dataset.train) + len(dataset.val) == 42 and len(dataset.test) == 14  # metadata is no truth
    assert dataset.group_overlap()["train-val"] == 0
    assert set(dataset.val.groups) <= {f"HAM_{i:07d}" for i in range(14)}
    assert "lesion_id" in dataset.grouping and "HAM10000_metadata.csv" in dataset.grouping


def test_isic_without_lesion_ids_warns_and_carves_per_image(tmp_path, caplog):
    root = isic_tree(tmp_path / "isic", lesion_table=False)
    with caplog.at_level(logging.WARNING, logger="flowgmm_ae"):
        dataset = load_dataset("isic2018", image_size=8, data_root=root, val_frac=0.3, use_cache=False)
    assert "carved per image because no lesion_id was found" in caplog.text
    assert any("no lesion_id" in note for note in dataset.notes)
    assert dataset.grouping.startswith("per image")


def test_medmnist_and_synthetic_have_no_groups(tmp_path):
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = np.zeros((4, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = np.array([[0], [1], [0], [1]])
    np.savez(tmp_path / "pneumoniamnist.npz", **arrays)
    for dataset in (load_dataset("pneumoniamnist", 8, data_root=tmp_path), load_dataset("synthetic", 8)):
        assert dataset.train.groups is None and dataset.group_overlap() == {}
        assert dataset.group_summary() == {"train": None, "val": None, "test": None}
        assert dataset.grouping.startswith("no patient ids")
        assert "Groups shared: unknown" in format_data_info(dataset, 8)
    assert "official split as published" in load_dataset("pneumoniamnist", 8, data_root=tmp_path).grouping


def test_split_groups_are_checked_and_counted():
    import torch

    split = Split(torch.zeros(3, 1, 4, 4), np.array([0, 1, 0]), groups=["a", "b", "a"])
    assert split.group_counts() == {"a": 2, "b": 1}
    with pytest.raises(DataError, match="2 groups but 3 labels"):
        Split(torch.zeros(3, 1, 4, 4), np.array([0, 1, 0]), groups=["a", "b"])


def test_data_info_prints_groups_and_shared_groups(tmp_path):
    root = chestxray_tree(tmp_path / "cx")
    result = CliRunner().invoke(
        main,
        [
            "data",
            "info",
            "--dataset",
            "chestxray2017",
            "--data-root",
            str(root),
            "--image-size",
            "8",
            "--val-frac",
            "0.2",
            "--no-cache",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "groups" in result.output.splitlines()[3]
    assert "Groups shared: train-val 0, train-test 0, val-test 0" in result.output
    assert "Grouping: patient id from file names" in result.output
    folder = tmp_path / "mine"
    for p in range(12):
        write_image(folder / ("abnormal" if p % 3 == 0 else "normal") / f"p{p}_0.png", p)
        write_image(folder / ("abnormal" if p % 3 == 0 else "normal") / f"p{p}_1.png", 50 + p)
    result = CliRunner().invoke(
        main,
        [
            "data",
            "info",
            "--dataset",
            f"folder:{folder}",
            "--group-pattern",
            r"^(p\d+)_",
            "--image-size",
            "8",
            "--no-cache",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Groups shared: train-val 0, train-test 0, val-test 0" in result.output
    table = {line.split()[0]: line.split() for line in result.output.splitlines()[5:8]}
    assert sum(int(table[s][4]) for s in ("train", "val", "test")) == 12  # groups column: 12 patients
