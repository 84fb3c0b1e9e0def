"""The honest protocol: validation anomaly labels limited to the budget and counted, a minimum number
of optimiser steps, SSIM in float32 under bf16, and Deep SAD's pretraining on the whole pool."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from tiny import TINY

from flowgmm_ae.baselines.deepsad import DeepSADBaseline
from flowgmm_ae.data.base import Split
from flowgmm_ae.data.splits import limit_validation_labels, validation_anomaly_budget
from flowgmm_ae.objectives import structural_dissimilarity
from flowgmm_ae.training import TrainConfig, train


def _split(n_normal: int, n_anomaly: int) -> Split:
    labels = np.array([0] * n_normal + [1] * n_anomaly)
    names = [f"img{i}" for i in range(len(labels))]
    return Split(images=torch.rand(len(labels), 1, 4, 4), labels=labels, names=names)


def test_budget_keeps_every_normal_and_the_labeled_fraction_of_anomalies():
    val = _split(30, 200)
    limited = limit_validation_labels(val, n_train_anomalies=1000, policy="budget", labeled_frac=0.05, seed=1)
    assert limited.n_anomalies_used == 10 and limited.n_anomalies_available == 200
    assert (limited.used.labels == 0).sum() == 30
    assert len(limited.held_out) == 190 and (limited.held_out.labels == 1).all()
    # The kept rows are the ones named, in order, with their per-image lists.
    assert limited.used.names == [val.names[i] for i in limited.used_index]
    assert set(limited.used.names).isdisjoint(limited.held_out.names)
    again = limit_validation_labels(val, 1000, "budget", 0.05, seed=1)
    other = limit_validation_labels(val, 1000, "budget", 0.05, seed=2)
    assert again.used.names == limited.used.names and other.used.names != limited.used.names


def test_budget_edge_cases():
    assert validation_anomaly_budget(200, 1000, 0.0, None) == 0  # unsupervised: no anomaly labels
    assert validation_anomaly_budget(200, 1000, 0.001, None) == 1  # at least one when f > 0
    assert validation_anomaly_budget(200, 1000, None, 50) == 10  # a count is a fraction of train
    everything = limit_validation_labels(_split(5, 7), 100, "all", 0.05)
    assert everything.n_anomalies_used == 7 and everything.held_out is None


def test_run_counts_its_validation_labels_and_uses_only_those(tmp_path):
    result = train(TrainConfig(out=str(tmp_path / "run"), labeled_frac=0.05, **TINY))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    # synthetic: 200 train and 100 validation anomalies → 10 + 5 labels.
    assert config["n_labeled"] == 10 and config["n_val_anomaly_labels"] == 5
    assert config["n_val_anomalies_available"] == 100 and config["n_labels_total"] == 15
    assert result.metrics["labels"] == {"train": 10, "validation": 5, "total": 15}
    val_rows = (tmp_path / "run" / "val_scores.csv").read_text().splitlines()[1:]
    assert sum(row.split(",")[1] == "1" for row in val_rows) == 5  # thresholds saw 5 anomalies
    assert len(json.loads((tmp_path / "run" / "splits.json").read_text())["validation"]) == 105
    selection = result.metrics["selection"]
    assert {"last", "best_val", "best_val_all_labels"} <= set(selection)
    assert 0.0 <= selection["last"]["val_auc_all_labels"] <= 1.0


def test_without_labels_the_last_epoch_is_kept_and_thresholds_use_normals(tmp_path):
    config = {**TINY, "epochs": 2}
    result = train(TrainConfig(out=str(tmp_path / "run"), prior="gaussian", labeled_frac=0.0, **config))
    assert result.metrics["labels"]["total"] == 0
    assert result.metrics["training"]["selected_epoch"] == 2
    assert result.metrics["test"]["threshold_policy"].startswith("normal-quantile")


def _tiny_folder(root, n_normal: int = 12, n_abnormal: int = 12) -> str:
    rng = np.random.default_rng(0)
    for split, scale in (("train", 1), ("val", 1), ("test", 1)):
        for label, count in (("normal", n_normal * scale), ("abnormal", n_abnormal * scale)):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = (rng.random((16, 16)) * (255 if label == "abnormal" else 120)).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{label}{i}.png")
    return f"folder:{root}"


def test_min_steps_lengthens_the_epochs_of_a_tiny_folder(tmp_path):
    dataset = _tiny_folder(tmp_path / "data")
    settings = {**TINY, "dataset": dataset, "epochs": 2, "batch_size": 8, "labeled_batch_size": 2}
    result = train(TrainConfig(out=str(tmp_path / "run"), **{**settings, "min_steps": 25}))
    # 12 normals in batches of 8: 2 steps a pass; two epochs of 13 steps (9 passes each) reach 25.
    assert result.metrics["training"]["steps"] == 26
    assert result.metrics["training"]["epochs"] == 2 and len(result.history) == 2
    plain = train(TrainConfig(out=str(tmp_path / "plain"), **settings))  # TINY: min_steps 0
    assert plain.metrics["training"]["steps"] == 4


def test_ssim_loss_stays_float32_under_bf16_autocast():
    generator = torch.Generator().manual_seed(0)
    x = torch.nn.functional.avg_pool2d(torch.rand(8, 1, 36, 36, generator=generator), 5, 1)
    x_hat = (x + 0.05 * torch.randn(x.shape, generator=generator)).clamp(0, 1)
    reference = structural_dissimilarity(x, x_hat)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = structural_dissimilarity(x, x_hat)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, reference, rtol=0, atol=1e-6)


def test_deep_sad_pretrains_on_the_whole_pool_for_a_quarter_of_the_steps(tmp_path, monkeypatch):
    seen: dict = {}
    real = DeepSADBaseline.pretrain

    def spy(self, model, draw_unlabeled, steps, config):
        seen["steps"] = steps
        seen["batch"] = draw_unlabeled(torch.Generator().manual_seed(0)).shape[0]
        real(self, model, draw_unlabeled, steps, config)

    monkeypatch.setattr(DeepSADBaseline, "pretrain", spy)
    result = train(TrainConfig(out=str(tmp_path / "run"), method="deepsad", score="distance", **TINY))
    steps = result.metrics["training"]["steps"]  # synthetic: 600 normals / 64 = 10 steps
    assert seen["steps"] == round(0.25 * steps) and seen["batch"] == 64
    assert result.metrics["training"]["init_seconds"] > 0
    assert result.metrics["training"]["seconds"] >= result.metrics["training"]["init_seconds"]


@pytest.mark.parametrize("policy", ["nonsense"])
def test_unknown_validation_policy_is_a_clear_error(policy):
    from flowgmm_ae.data import DataError

    with pytest.raises(DataError, match="validation-label policy"):
        limit_validation_labels(_split(3, 3), 10, policy)


def test_aeflow_pretrains_encoder_and_decoder_only_when_asked(tmp_path, monkeypatch):
    from flowgmm_ae.aeflow_method import AEFlowMethod

    seen: dict = {}
    real = AEFlowMethod.pretrain

    def spy(self, model, draw_unlabeled, steps, config):
        import normflows as nf

        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        real(self, model, draw_unlabeled, steps, config)
        set_by_data = {  # ActNorm's data-dependent initialisation on the first batch
            f"{name}.{p}"
            for name, m in model.named_modules()
            if isinstance(m, nf.flows.ActNorm)
            for p in "st"
        }
        seen["steps"] = steps
        seen["changed"] = {
            name.split(".")[0]
            for name, p in model.named_parameters()
            if not torch.equal(before[name], p) and name not in set_by_data
        }

    monkeypatch.setattr(AEFlowMethod, "pretrain", spy)
    train(TrainConfig(out=str(tmp_path / "plain"), **TINY))
    assert seen == {}  # the default: no pretraining
    result = train(TrainConfig(out=str(tmp_path / "run"), pretrain_fraction=0.5, **TINY))
    steps = result.metrics["training"]["steps"]  # synthetic: 600 normals / 64 = 10 steps
    assert seen["steps"] == round(0.5 * steps)
    assert seen["changed"] == {"encoder", "decoder"}  # the flow and the prior stay as built
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    assert recorded["pretrain_fraction"] == 0.5


def test_encoder_lr_scale_gives_the_encoder_its_own_learning_rate():
    from flowgmm_ae.methods import get_method

    method = get_method("aeflow")
    config = TrainConfig(encoder_lr_scale=0.1, lr=2e-3, **TINY)
    model = method.build(config, in_channels=1)
    optimizer, _ = method.make_optimizer(model, config, total_steps=10)
    rates = sorted(group["lr"] for group in optimizer.param_groups)
    assert rates == pytest.approx([2e-4, 2e-3])
    grouped = sum(len(group["params"]) for group in optimizer.param_groups)
    assert grouped == sum(1 for p in model.parameters() if p.requires_grad)
    encoder_ids = {id(p) for p in model.encoder.parameters()}
    slow = next(group for group in optimizer.param_groups if group["lr"] == pytest.approx(2e-4))
    assert {id(p) for p in slow["params"]} == encoder_ids
    default = TrainConfig(**TINY)
    assert len(method.make_optimizer(method.build(default, 1), default, 10)[0].param_groups) == 1


def test_pretraining_options_are_refused_for_a_baseline():
    from flowgmm_ae.errors import ConfigError

    with pytest.raises(ConfigError, match="for method='aeflow' only"):
        TrainConfig(method="cnn", pretrain_fraction=0.2, **{k: v for k, v in TINY.items()}).validate()
