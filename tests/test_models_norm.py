"""--norm {group,batch}: BatchNorm + ReLU in AE-FLOW's encoder and decoder, scored in eval mode (an
image's score never depends on its batch mates), saved with its running statistics, and run
folders from before the option still load as GroupNorm."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from tiny import TINY, tiny_cli_args

from flowgmm_ae import runs
from flowgmm_ae.aeflow_method import AEFlowMethod
from flowgmm_ae.baselines.deepsad import DeepSADNet
from flowgmm_ae.cli import main
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.io import save_weights, write_json
from flowgmm_ae.methods import get_method
from flowgmm_ae.models import AEFlow, ModelConfig
from flowgmm_ae.priors import GaussianMixture
from flowgmm_ae.runs import load_model, load_run_dataset, train_config_from_record
from flowgmm_ae.scoring import anomaly_maps, raw_scores

SCORES = ("flow", "recon", "posterior")


def norm_layers(model: torch.nn.Module) -> set[type]:
    kinds = (torch.nn.GroupNorm, torch.nn.BatchNorm2d, torch.nn.SiLU, torch.nn.ReLU)
    return {type(m) for m in model.modules() if isinstance(m, kinds)}


def tiny_model(norm: str) -> AEFlow:
    config = TrainConfig(**TINY, norm=norm).model_config(in_channels=1)
    torch.manual_seed(0)
    return AEFlow(config, GaussianMixture(config.latent_dim))


def test_norm_chooses_the_layers():
    assert norm_layers(tiny_model("group")) == {torch.nn.GroupNorm, torch.nn.SiLU}
    assert norm_layers(tiny_model("batch")) == {torch.nn.BatchNorm2d, torch.nn.ReLU}
    with pytest.raises(ValueError, match="norm"):
        ModelConfig(norm="layer").validate()


def test_batch_norm_without_bias_has_no_affine_part():
    """Deep SAD's bias-free network stays bias-free with BatchNorm."""
    net = DeepSADNet(TrainConfig(**TINY, norm="batch"), in_channels=1)
    batch_norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert batch_norms and not any(m.affine for m in batch_norms)
    assert not any(name.endswith("bias") for name, _ in net.named_parameters())


def test_batch_norm_scores_do_not_depend_on_batch_mates():
    model = tiny_model("batch").train()
    with torch.no_grad():
        for _ in range(5):  # ActNorm's initialisation, then running statistics away from (0, 1)
            model(torch.rand(32, 1, 16, 16) * 0.6)
    images = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # in train mode (batch statistics) the features do depend on the batch
        assert not torch.allclose(model(images).z[:1], model(images[:1]).z, atol=1e-3)
    for scores in (raw_scores, AEFlowMethod().raw_scores):
        together = scores(model, images, device="cpu")
        alone = scores(model, images[:1], device="cpu")
        for name in SCORES:
            assert together[name][0] == pytest.approx(alone[name][0], abs=1e-5), name
    maps_together, maps_alone = anomaly_maps(model, images), anomaly_maps(model, images[:1])
    for name in ("flow", "residual"):
        assert torch.allclose(maps_together[name][:1], maps_alone[name], atol=1e-5), name
    assert model.training  # scoring restores the mode


@pytest.fixture(scope="module")
def batch_norm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("norm") / "batch"
    args = ["train", *tiny_cli_args(epochs=1, dataset="synthetic"), "--norm", "batch", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out


def test_batch_norm_run_records_its_norm(batch_norm_run):
    config = json.loads((batch_norm_run / "config.json").read_text())
    assert config["norm"] == "batch" and config["model"]["norm"] == "batch"


def test_batch_norm_run_reloads_to_identical_scores(batch_norm_run):
    model, config = load_model(batch_norm_run)
    assert norm_layers(model) == {torch.nn.BatchNorm2d, torch.nn.ReLU}
    running_means = [m.running_mean for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert any(mean.abs().max() > 1e-3 for mean in running_means)  # trained statistics, not (0, 1)
    test = load_run_dataset(config, run_dir=batch_norm_run).test
    rescored = get_method("aeflow").raw_scores(model, test.images, "cpu")
    saved = np.genfromtxt(batch_norm_run / "scores.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(saved["label"], test.labels)
    for name in SCORES:
        np.testing.assert_allclose(rescored[name], saved[name], rtol=1e-6, atol=1e-7, err_msg=name)


def _old_run_folder(path, model: torch.nn.Module, config: TrainConfig):
    """A run folder as written before --norm existed: no "norm" in config.json, nor in its model."""
    record = dataclasses.asdict(config)
    record["model"] = config.model_config(in_channels=1).to_dict()
    del record["norm"], record["model"]["norm"]
    path.mkdir()
    write_json(path / "config.json", record)
    save_weights(model, path / "model.safetensors")


def test_old_config_without_norm_loads_as_group_norm(tmp_path, monkeypatch):
    config = TrainConfig(**TINY)
    model = tiny_model("group")
    with torch.no_grad():
        model(torch.rand(32, 1, 16, 16))  # ActNorm's initialisation
    model = model.eval().to(memory_format=torch.channels_last)  # as load_model returns it
    _old_run_folder(tmp_path / "old", model, config)
    loaded, _ = load_model(tmp_path / "old")
    assert norm_layers(loaded) == {torch.nn.GroupNorm, torch.nn.SiLU}
    images = torch.rand(8, 1, 16, 16)
    before, after = raw_scores(model, images), raw_scores(loaded, images)
    for name in SCORES:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)

    # ... even once TrainConfig's default becomes "batch": old runs were all trained with GroupNorm
    @dataclasses.dataclass
    class BatchByDefault(TrainConfig):
        norm: str = "batch"

    monkeypatch.setattr(runs, "TrainConfig", BatchByDefault)
    old_record = json.loads((tmp_path / "old" / "config.json").read_text())
    assert train_config_from_record(old_record).norm == "group"
    loaded, _ = load_model(tmp_path / "old")
    assert norm_layers(loaded) == {torch.nn.GroupNorm, torch.nn.SiLU}
