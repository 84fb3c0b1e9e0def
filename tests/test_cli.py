"""The command line: error paths give a message and a non-zero exit, and a short run writes every file."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file
from test_data import write_fake_medmnist
from tiny import tiny_cli_args

from flowgmm_ae.cli import main

TINY_OPTIONS = tiny_cli_args()


def run(args):
    return CliRunner().invoke(main, args)


def assert_clean_failure(result, *fragments):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_labeled_frac_out_of_range():
    assert_clean_failure(run(["train", "--labeled-frac", "1.5"]), "--labeled-frac")


def test_unknown_dataset_name():
    assert_clean_failure(run(["train", "--dataset", "mnist"]), "mnist")


def test_missing_data_offline_when_named(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWGMM_AE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = run(
        [
            "train",
            "--dataset",
            "pneumoniamnist",
            "--data-root",
            str(tmp_path / "x"),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert_clean_failure(result, "pneumoniamnist.npz", "--data-root")


def test_labels_without_train_anomalies(tmp_path):
    write_fake_medmnist(tmp_path / "pneumoniamnist.npz", train_anomalies=False)
    result = run(
        [
            "train",
            "--dataset",
            "pneumoniamnist",
            "--data-root",
            str(tmp_path),
            "--labeled-frac",
            "0.1",
            "--out",
            str(tmp_path / "run"),
            *TINY_OPTIONS,
        ]
    )
    assert_clean_failure(result, "no anomalous images")


@pytest.mark.parametrize("score", ["posterior", "fused"])
def test_posterior_scores_need_the_mixture(score):
    assert_clean_failure(run(["train", "--prior", "gaussian", "--score", score]), "gmm")


def test_config_errors_name_the_command_line_options():
    result = run(["train", "--prior", "gaussian", "--class-weight", "1"])
    assert_clean_failure(result, "class_weight > 0 needs the mixture prior", "(option --class-weight)")


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    result = run(
        [
            "train",
            "--dataset",
            "synthetic",
            "--labeled-frac",
            "0.05",
            "--out",
            str(out),
            *TINY_OPTIONS,
        ]
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_short_synthetic_run_writes_every_file(synthetic_run):
    out, output = synthetic_run
    for name in (
        "config.json",
        "splits.json",
        "metrics.json",
        "scores.csv",
        "model.safetensors",
        "train_log.csv",
        "roc.png",
        "score_hist.png",
    ):
        assert (out / name).is_file(), name
    assert "auc" in output and "combined" in output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("auc", "auprc", "f1", "acc", "sen", "spe", "threshold"):
        assert key in metrics["test"]
        if key != "threshold":
            assert 0.0 <= metrics["test"][key] <= 1.0
    config = json.loads((out / "config.json").read_text())
    assert config["labeled_frac"] == 0.05 and config["n_labeled"] == 10  # 5 % of 200 anomalies
    splits = json.loads((out / "splits.json").read_text())
    assert len(splits["labeled"]) == 10 and len(splits["unlabeled"]) == 600
    scores = np.genfromtxt(out / "scores.csv", delimiter=",", names=True)
    assert len(scores) == 400 and set(scores.dtype.names) >= {"index", "label", "flow", "recon"}
    state = load_file(str(out / "model.safetensors"))
    assert any(key.startswith("prior.means") for key in state)


def test_weights_load_safely_with_torch_too(synthetic_run):
    out, _ = synthetic_run
    state = load_file(str(out / "model.safetensors"))
    path = out.parent / "state.pt"
    torch.save(state, path)
    assert torch.load(path, weights_only=True).keys() == state.keys()


def test_gaussian_prior_with_labels_says_they_are_unused(tmp_path):
    result = run(
        [
            "train",
            "--dataset",
            "synthetic",
            "--prior",
            "gaussian",
            "--labeled-frac",
            "0.1",
            "--out",
            str(tmp_path / "run"),
            *TINY_OPTIONS,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "unused" in result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["n_labeled"] == 0


def test_default_dataset_falls_back_to_synthetic_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWGMM_AE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = run(["train", "--out", str(tmp_path / "run"), *TINY_OPTIONS])
    assert result.exit_code == 0, result.output
    assert "fell back to the synthetic data set" in result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["dataset_used"] == "synthetic" and config["dataset_notes"]


def test_existing_run_folder_is_not_overwritten(synthetic_run):
    out, _ = synthetic_run
    result = run(["train", "--dataset", "synthetic", "--out", str(out), *TINY_OPTIONS])
    assert_clean_failure(result, "already holds a finished run")


def test_train_options_default_to_train_config():
    """The CLI's options are generated from TrainConfig's fields (one source): every field is an
    option, with the field's default."""
    import dataclasses

    from flowgmm_ae.training import TrainConfig

    context = main.commands["train"].make_context("train", [])
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    assert set(context.params) == (set(defaults) - {"dataset_given"}) | {"resume_dir"}
    for name, value in context.params.items():
        if name != "resume_dir":
            assert value == defaults[name], name
    flags = main.commands["train"].make_context("train", ["--no-augment", "--quiet", "--no-cache"]).params
    assert (flags["augment"], flags["progress"], flags["use_cache"]) == (False, False, False)


def test_a_diverging_run_ends_with_a_message_not_a_traceback(tmp_path):
    """Found by tests/test_fuzz.py (--lr 1.0): the diagnostic AUCs over every score once raised a
    bare ValueError on the non-finite scores of a diverged model."""
    result = run(
        ["train", "--dataset", "synthetic", "--lr", "1.0", "--out", str(tmp_path / "run"), *TINY_OPTIONS]
    )
    assert_clean_failure(result, "training diverged", "--lr")
