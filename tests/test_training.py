"""The training loop: seeded reproducibility and the guard against non-finite losses."""

import json

import pytest
import torch
from tiny import TINY

from flowgmm_ae.aeflow_method import AEFlowMethod
from flowgmm_ae.errors import ConfigError
from flowgmm_ae.training import TrainConfig, TrainingError, train


def test_same_seed_same_metrics(tmp_path):
    a = train(TrainConfig(out=str(tmp_path / "a"), seed=3, **TINY))
    b = train(TrainConfig(out=str(tmp_path / "b"), seed=3, **TINY))
    assert a.metrics["scores"] == b.metrics["scores"]
    assert (tmp_path / "a" / "scores.csv").read_text() == (tmp_path / "b" / "scores.csv").read_text()


def _poisoned_loss(bad_steps: set[int]):
    """AE-FLOW's loss, made NaN on the given (1-based) calls."""
    real = AEFlowMethod.loss
    calls = {"n": 0}

    def loss(self, *args, **kwargs):
        terms = real(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] in bad_steps:
            terms.total = terms.total * torch.tensor(float("nan"))
        return terms

    return loss


def test_non_finite_steps_are_skipped_and_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(AEFlowMethod, "loss", _poisoned_loss({2, 3, 5}))
    result = train(TrainConfig(out=str(tmp_path / "run"), **TINY))
    assert result.history[0]["skipped_steps"] == 3
    assert result.metrics["training"]["skipped_steps"] == 3
    assert "skipped_steps" in (tmp_path / "run" / "train_log.csv").read_text().splitlines()[0]


def test_persistent_non_finite_loss_stops_with_advice(tmp_path, monkeypatch):
    monkeypatch.setattr(AEFlowMethod, "loss", _poisoned_loss(set(range(1, 100))))
    with pytest.raises(TrainingError, match=r"lower learning rate \(lr, now"):
        train(TrainConfig(out=str(tmp_path / "run"), max_bad_steps=4, **TINY))


def test_config_records_every_option_and_the_version(tmp_path):
    train(TrainConfig(out=str(tmp_path / "run"), **TINY))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    for key in (
        "lr",
        "alpha",
        "labeled_weight",
        "beta",
        "seed",
        "device",
        "version",
        "torch_version",
        "model",
    ):
        assert key in config, key
    assert config["model"]["latent_channels"] == 4


def test_default_stride_gives_a_small_latent_and_a_valid_model():
    from flowgmm_ae.config import TrainConfig

    sizes = (16, 28, 32, 64, 96, 128, 256)
    grey = {size: TrainConfig(image_size=size).resolved_stride(in_channels=1) for size in sizes}
    assert grey == {16: 4, 28: 4, 32: 8, 64: 16, 96: 16, 128: 32, 256: 64}  # 4 x 4 latents
    colour = {size: TrainConfig(image_size=size).resolved_stride(in_channels=3) for size in sizes}
    assert colour == {16: 2, 28: 2, 32: 4, 64: 8, 96: 8, 128: 16, 256: 32}  # 8 x 8 latents (7 x 7)
    for size in sizes:
        for channels in (1, 3):
            TrainConfig(image_size=size).model_config(in_channels=channels).validate()
    assert TrainConfig(image_size=128, encoder="wrn50").resolved_stride(in_channels=3) == 16
    for baseline in ("ae", "deepsad", "devnet", "supervised"):  # they keep 4 x 4 on colour images
        assert TrainConfig(method=baseline, image_size=32).resolved_stride(in_channels=3) == 8
    assert TrainConfig(image_size=32, stride=2).resolved_stride(in_channels=1) == 2


def test_the_mixture_alone_gets_64_latent_channels():
    from flowgmm_ae.config import TrainConfig

    def channels(in_channels: int, **options) -> int:
        return TrainConfig(**options).model_config(in_channels).latent_channels

    assert channels(1) == channels(3) == 64  # flowgmm-ae
    unsupervised = {"prior": "gaussian", "labeled_frac": 0.0}
    assert channels(1, **unsupervised) == channels(3, **unsupervised) == 16
    for baseline in ("ae", "cnn", "deepsad", "devnet", "supervised"):
        assert channels(1, method=baseline) == 16
    assert channels(1, latent_channels=8) == channels(3, latent_channels=8) == 8


def test_class_weight_is_logged_and_needs_the_mixture(tmp_path):
    result = train(TrainConfig(out=str(tmp_path / "run"), class_weight=1.0, **TINY))
    assert result.history[0]["class_ce"] > 0
    assert "class_ce" in (tmp_path / "run" / "train_log.csv").read_text().splitlines()[0]
    with pytest.raises(ConfigError, match=r"class_weight > 0 needs the mixture prior") as caught:
        train(TrainConfig(out=str(tmp_path / "g"), prior="gaussian", class_weight=1.0, **TINY))
    assert caught.value.fields == ("class_weight",)


def test_consistency_term_is_logged_and_needs_the_mixture_and_augmentation(tmp_path):
    result = train(TrainConfig(out=str(tmp_path / "run"), consistency_weight=1.0, **TINY))
    assert result.history[0]["consistency_bpd"] != 0
    assert "consistency_bpd" in (tmp_path / "run" / "train_log.csv").read_text().splitlines()[0]
    for wrong, fields in (
        ({"prior": "gaussian"}, ("consistency_weight",)),
        ({"method": "cnn"}, ("consistency_weight",)),
        ({"augment": False}, ("consistency_weight", "augment")),
    ):
        with pytest.raises(ConfigError, match="consistency_weight > 0") as caught:
            train(TrainConfig(out=str(tmp_path / "bad"), consistency_weight=1.0, **{**TINY, **wrong}))
        assert caught.value.fields == fields


@pytest.mark.parametrize("mode", ["labeled", "all"])
def test_flip_rotate_turns_the_labeled_or_every_training_image(tmp_path, monkeypatch, mode):
    import flowgmm_ae.loop as loop

    sizes = []
    real = loop.flip_rotate

    def recording(images, generator):
        sizes.append(len(images))
        return real(images, generator)

    monkeypatch.setattr(loop, "flip_rotate", recording)
    config = TrainConfig(out=str(tmp_path / "run"), flip_rotate=mode, labeled_batch_size=5, **TINY)
    train(config)
    assert sizes  # once per step
    if mode == "labeled":
        assert set(sizes) == {5}
    else:  # the unlabeled batch and the labeled anomalies together
        assert min(sizes) > 5 and max(sizes) <= config.batch_size + 5
    assert json.loads((tmp_path / "run" / "config.json").read_text())["flip_rotate"] == mode
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["training"]["flip_rotate"] == mode


def test_auto_flip_rotate_is_decided_from_the_images_and_recorded(tmp_path, monkeypatch):
    import flowgmm_ae.loop as loop

    monkeypatch.setattr(loop, "resolve_flip_rotate", lambda mode, images: "none")
    train(TrainConfig(out=str(tmp_path / "none"), **TINY))
    monkeypatch.setattr(loop, "resolve_flip_rotate", lambda mode, images: "labeled")
    train(TrainConfig(out=str(tmp_path / "labeled"), **TINY))
    for name in ("none", "labeled"):
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        assert metrics["training"]["flip_rotate"] == name
        assert json.loads((tmp_path / name / "config.json").read_text())["flip_rotate"] == "auto"
    # the turned labeled anomalies change what the model learns
    none = json.loads((tmp_path / "none" / "metrics.json").read_text())
    labeled = json.loads((tmp_path / "labeled" / "metrics.json").read_text())
    assert none["test"]["auc"] != labeled["test"]["auc"]


def test_a_record_from_before_flip_rotate_reads_as_trained_without_flips():
    from flowgmm_ae.runs import train_config_from_record

    assert train_config_from_record({"seed": 1}).flip_rotate == "none"
    assert train_config_from_record({"flip_rotate": "labeled"}).flip_rotate == "labeled"


@pytest.mark.parametrize(
    "field, value",
    [("flip_rotate", "sideways"), ("precision", "fp16"), ("contamination_mode", "Replace")],
)
def test_a_value_outside_an_options_choices_is_refused_from_python(tmp_path, field, value):
    """The command line checks choices itself; TrainConfig must too (fp16 once trained in fp32)."""
    with pytest.raises(ConfigError, match=f"^{field}='{value}': choose from") as caught:
        train(TrainConfig(out=str(tmp_path / "run"), **{**TINY, field: value}))
    assert caught.value.fields == (field,)


def test_auto_score_is_the_fused_score_for_the_labeled_mixture_and_each_baselines_own():
    assert TrainConfig(prior="gmm", labeled_frac=0.05).resolved_score() == "fused"
    assert TrainConfig(prior="gmm", labeled_frac=0.0).resolved_score() == "combined"
    assert TrainConfig(prior="gmm", labeled_frac=0.0, n_labeled=3).resolved_score() == "fused"
    assert TrainConfig(prior="gaussian").resolved_score() == "combined"
    assert TrainConfig(method="cnn").resolved_score() == "logit"
    assert TrainConfig(method="deepsad", score="auto").resolved_score() == "distance"
    assert TrainConfig(prior="gmm", score="flow").resolved_score() == "flow"


def test_errors_name_the_config_field_for_python_callers(tmp_path):
    """Library errors name TrainConfig fields, never command-line flags (the CLI adds those)."""
    with pytest.raises(ConfigError, match=r"^lr=-1.0 must be positive$"):
        train(TrainConfig(out=str(tmp_path / "a"), lr=-1.0, **TINY))
    with pytest.raises(ConfigError, match=r"^score='logit' is not available for method='aeflow'"):
        train(TrainConfig(out=str(tmp_path / "b"), score="logit", **TINY))


def test_an_unsupervised_run_uses_its_priors_defaults(tmp_path):
    from flowgmm_ae.priors import prior_entry

    train(TrainConfig(out=str(tmp_path / "run"), prior="gaussian", labeled_frac=0.0, **TINY))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert metrics["combiner"]["beta"] == 0.2  # --beta prior
    entry = prior_entry("gaussian")
    assert config["model"]["encoder_objective"] == entry.encoder_objective  # --encoder-objective auto
    resolved = {"pretrain_fraction": entry.pretrain_fraction, "encoder_lr_scale": entry.encoder_lr_scale}
    assert {k: config["resolved"][k] for k in resolved} == resolved  # --pretrain-fraction prior, ...
