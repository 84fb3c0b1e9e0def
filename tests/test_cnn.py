"""The plain CNN baseline (--method cnn): it learns on synthetic data, has the reference's size,
works on tiny images, scores in eval mode and trains with its own weight decay."""

import json

import pytest
import torch
from tiny import TINY

from flowgmm_ae.baselines.cnn import WEIGHT_DECAY, CNNBaseline, PlainCNN
from flowgmm_ae.methods import baseline_names, get_method, score_names
from flowgmm_ae.training import TrainConfig, train


def n_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn") / "run"
    # 16 px, 5 epochs of 10 steps: test AUC 0.97 with seed 0 (0.79 after 2 epochs, 0.94 after 4).
    return train(TrainConfig(method="cnn", score="logit", out=str(out), **{**TINY, "epochs": 5}))


def test_cnn_learns_on_synthetic(cnn_run):
    metrics = cnn_run.metrics
    assert metrics["score"] == "logit"
    assert metrics["test"]["auc"] > 0.8, metrics["test"]


def test_cnn_is_registered_with_its_logit_score(cnn_run):
    assert "cnn" in baseline_names() and "logit" in score_names()
    assert isinstance(get_method("cnn"), CNNBaseline) and get_method("cnn").default_score == "logit"
    config = json.loads((cnn_run.out_dir / "config.json").read_text())
    assert config["method"] == "cnn"
    # the loop's Adam got the CNN's weight decay although --weight-decay stayed at 0
    assert config["weight_decay"] == 0 and config["optimizer"]["weight_decay"] == WEIGHT_DECAY


def test_cnn_weight_decay_is_at_least_its_own():
    method = CNNBaseline()
    assert method.optimizer_options(TrainConfig()) == {"lr": 1e-3, "weight_decay": WEIGHT_DECAY}
    assert method.optimizer_options(TrainConfig(weight_decay=1e-2))["weight_decay"] == 1e-2
    # every other method keeps the run's options
    assert get_method("supervised").optimizer_options(TrainConfig()) == {"lr": 1e-3, "weight_decay": 0.0}


@pytest.mark.parametrize(
    ("image_size", "expected"),
    # four blocks of 32, 64, 128, 256 channels: 388,577 parameters for grey images; the 5 x 5
    # stride-2 stem of 16 channels from 64 px on adds 4,752 (393,329)
    [(28, 388_577), (32, 388_577), (64, 393_329), (128, 393_329)],
)
def test_cnn_parameter_count(image_size, expected):
    count = n_parameters(PlainCNN(in_channels=1, image_size=image_size))
    assert count == expected
    assert 350_000 < count < 450_000  # "about 0.4 M", as the reference CNN


def test_stem_only_from_64_px():
    kernels = [m.kernel_size for m in PlainCNN(1, 32).modules() if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(3, 3)] * 4
    stem = PlainCNN(1, 64).features[0]
    assert stem.kernel_size == (5, 5) and stem.stride == (2, 2) and stem.out_channels == 16


@pytest.mark.parametrize("image_size", [8, 16, 28])
def test_cnn_works_on_images_too_small_for_four_poolings(image_size):
    torch.manual_seed(0)
    model = PlainCNN(in_channels=1, image_size=image_size).train()
    logits = model(torch.rand(4, 1, image_size, image_size))
    assert logits.shape == (4,) and torch.isfinite(logits).all()
    logits.sum().backward()  # and trains


def test_cnn_scores_do_not_depend_on_batch_mates():
    torch.manual_seed(0)
    model = PlainCNN(in_channels=1, image_size=16).train()
    with torch.no_grad():
        for _ in range(5):  # move BatchNorm's running statistics away from their initial values
            model(torch.rand(16, 1, 16, 16) * 0.5)
    images = torch.rand(8, 1, 16, 16)
    # in train mode (batch statistics) an image's logit does depend on its batch mates ...
    with torch.no_grad():
        model.dropout.p = 0.0
        assert not torch.allclose(model(images)[:1], model(images[:1]), atol=1e-3)
        model.dropout.p = 0.3
    # ... but not its score, computed in eval mode
    method = CNNBaseline()
    together = method.raw_scores(model, images, "cpu")["logit"]
    alone = method.raw_scores(model, images[:1], "cpu")["logit"]
    assert together[0] == pytest.approx(alone[0], abs=1e-5)
    assert model.training  # scoring restores the mode


def test_training_flips_change_the_loss_inputs(monkeypatch):
    import flowgmm_ae.baselines.cnn as cnn

    seen = []
    model = PlainCNN(1, 16)
    monkeypatch.setattr(model, "forward", lambda x: seen.append(x) or x.mean((1, 2, 3)))
    x = torch.arange(16.0).view(1, 1, 1, 16).expand(32, 1, 16, 16).contiguous()
    method, config = CNNBaseline(), TrainConfig()
    torch.manual_seed(0)
    method.loss(model, x[:24], x[24:], torch.ones(8, dtype=torch.long), config)
    flipped = (seen[0] != x).flatten(1).any(1)
    assert 0 < int(flipped.sum()) < 32  # some images flipped, not all
    assert torch.equal(seen[0][flipped], x[flipped].flip(-1))
    monkeypatch.setattr(cnn, "FLIP", False)
    method.loss(model, x[:24], x[24:], torch.ones(8, dtype=torch.long), config)
    assert torch.equal(seen[1], x)
