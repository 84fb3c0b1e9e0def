"""Baselines: they learn on synthetic data, Deep SAD has no bias terms, and every method sees the
same split for a seed. 32 px: at 16 px the smooth synthetic lesions are reconstructed too well for
the autoencoder's 1 − SSIM score to see them."""

import json

import pytest
import torch
from tiny import TINY as TINY_16PX

from flowgmm_ae.baselines.deepsad import DeepSADNet
from flowgmm_ae.baselines.devnet import deviation_loss
from flowgmm_ae.training import TrainConfig, train

TINY = {**TINY_16PX, "image_size": 32, "stride": 8, "labeled_frac": 0.1}
SCORES = {"ae": "recon", "deepsad": "distance", "devnet": "deviation", "supervised": "probability"}


@pytest.fixture(scope="module")
def baseline_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("baselines")
    return {
        name: train(TrainConfig(**{**TINY, "epochs": 4}, method=name, score=score, out=str(root / name)))
        for name, score in SCORES.items()
    }


@pytest.mark.parametrize("name", sorted(SCORES))
def test_each_baseline_learns_on_synthetic(baseline_runs, name):
    metrics = baseline_runs[name].metrics
    assert metrics["score"] == SCORES[name]
    assert metrics["test"]["auc"] > 0.6, metrics["test"]


def test_every_method_sees_the_same_split(baseline_runs, tmp_path):
    train(TrainConfig(method="aeflow", prior="gmm", out=str(tmp_path / "gmm"), **TINY))
    reference = json.loads((tmp_path / "gmm" / "splits.json").read_text())
    for run in baseline_runs.values():
        assert json.loads((run.out_dir / "splits.json").read_text()) == reference


@pytest.mark.parametrize("norm", ["batch", "group"])
def test_deepsad_network_has_no_bias_terms(norm):
    net = DeepSADNet(TrainConfig(**{**TINY, "norm": norm}), in_channels=1)
    names = [name for name, _ in net.named_parameters()]
    assert names and not any(name.endswith("bias") for name in names)
    norms = [
        m for m in net.modules() if isinstance(m, torch.nn.GroupNorm | torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert norms and not any(
        m.affine for m in norms
    )  # checked on every normalisation layer, and there are some
    # without biases a zero image maps to the zero embedding: no constant offset to collapse onto c
    assert torch.allclose(net.embed(torch.zeros(1, 1, 32, 32)), torch.zeros(1, 64), atol=1e-6)


def test_deviation_loss_pushes_anomalies_past_the_margin():
    reference = torch.randn(5000, generator=torch.Generator().manual_seed(0))
    inliers = deviation_loss(torch.zeros(4), torch.zeros(4, dtype=torch.bool), reference)
    far_outliers = deviation_loss(torch.full((4,), 10.0), torch.ones(4, dtype=torch.bool), reference)
    near_outliers = deviation_loss(torch.zeros(4), torch.ones(4, dtype=torch.bool), reference)
    assert inliers < 0.1 and far_outliers == 0 and near_outliers == pytest.approx(5.0, abs=0.2)


def test_unsupervised_ae_warns_that_labels_are_unused(tmp_path, caplog):
    with caplog.at_level("WARNING"):
        train(TrainConfig(method="ae", score="recon", out=str(tmp_path / "ae"), **TINY))
    assert "unused" in caplog.text
