"""The method and prior registries: a method defined and registered in this file (a third party's,
in effect) is offered by ``--method``, trains through the shared loop, and works in the API; the
built-in choices come from the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from tiny import tiny_cli_args
from torch import nn

from flowgmm_ae import Detector, StepLoss, register_method
from flowgmm_ae.cli import main
from flowgmm_ae.methods import Method, baseline_names, get_method, method_names, score_names
from flowgmm_ae.priors import prior_names


@register_method
class MeanIntensity(Method):
    """Scores an image by a learned linear function of its mean intensity (the README's example,
    verbatim: a third party's method, in effect)."""

    name, score_names, default_score = "mean-intensity", ("intensity",), "intensity"

    def build(self, config, in_channels):
        return nn.Linear(1, 1)

    def loss(self, model, x_unlabeled, x_labeled, y_labeled, config):
        score = lambda x: model(x.mean((1, 2, 3)).unsqueeze(1))  # noqa: E731
        total = score(x_unlabeled).mean() - score(x_labeled).mean() + 0.1 * (model.weight**2).sum()
        return StepLoss(total, {"loss": float(total.detach())})

    @torch.no_grad()
    def raw_scores(self, model, images, device):
        x = images.to(device).mean((1, 2, 3)).unsqueeze(1)
        return {"intensity": model(x).squeeze(1).double().cpu().numpy()}


def test_a_method_registered_in_a_test_file_appears_in_the_cli_and_trains(tmp_path):
    assert "mean-intensity" in method_names() and "mean-intensity" in baseline_names()
    assert "intensity" in score_names()
    help_text = CliRunner().invoke(main, ["train", "--help"]).output
    assert "mean-intensity" in help_text
    out = tmp_path / "run"
    args = ["train", "--method", "mean-intensity", "--labeled-frac", "0.1", "--out", str(out)]
    result = CliRunner().invoke(main, [*args, *tiny_cli_args(dataset="synthetic")])
    assert result.exit_code == 0, result.output
    assert (out / "metrics.json").is_file() and "intensity" in (out / "scores.csv").read_text()
    loaded = Detector.load(out)
    assert loaded.decision_function(np.zeros((2, 16, 16), dtype=np.float32)).shape == (2,)


def test_the_api_trains_a_registered_method_by_name():
    rng = np.random.default_rng(0)
    detector = Detector(method="mean-intensity", epochs=2, min_steps=200, lr=0.05, augment=False)
    detector.fit_with_anomalies(rng.random((64, 16, 16)) * 0.5, 0.5 + rng.random((8, 16, 16)) * 0.5)
    dark, bright = np.full((4, 16, 16), 0.1), np.full((4, 16, 16), 0.9)
    assert detector.decision_function(bright).min() > detector.decision_function(dark).max()


def test_built_in_methods_and_priors_are_registered():
    assert {"aeflow", "ae", "cnn", "deepsad", "devnet", "supervised"} <= set(method_names())
    assert method_names()[0] == "aeflow"  # the prior-based method first
    assert set(prior_names()) >= {"gaussian", "gmm"}
    with pytest.raises(ValueError, match="unknown method 'nope'; choose from aeflow"):
        get_method("nope")


def test_a_second_method_under_a_taken_name_is_refused():
    class Impostor(MeanIntensity):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_method(Impostor)
