"""Run-folder files are written whole or not at all."""

from __future__ import annotations

import pytest

from flowgmm_ae.io import read_json, write_csv, write_json


def test_failed_csv_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results.csv"
    write_csv(target, [{"a": 1}], fieldnames=["a"])
    with pytest.raises(ValueError):  # a row with a column the header lacks
        write_csv(target, [{"a": 2}, {"b": 3}], fieldnames=["a"])
    assert target.read_text().splitlines() == ["a", "1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_failed_json_write_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"auc": 0.5})
    with pytest.raises(TypeError):
        write_json(target, {"auc": object()})
    assert read_json(target) == {"auc": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]
