"""AE-FLOW's Wide-ResNet-50-2 encoder: torchvision-compatible names, loading a saved state dict,
a frozen trunk, and a training run with --encoder wrn50 --encoder-weights."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from flowgmm_ae.cli import main
from flowgmm_ae.errors import FlowgmmAEError
from flowgmm_ae.models.wide_resnet import PretrainedEncoder, WideResNet50Trunk, load_torchvision_weights

# torchvision's wide_resnet50_2 has 68,883,240 parameters; layer4 has 41,971,712 and fc 2,049,000.
TRUNK_PARAMETERS = 68_883_240 - 41_971_712 - 2_049_000


def torchvision_like_state(trunk: WideResNet50Trunk) -> dict[str, torch.Tensor]:
    """The trunk's state plus keys of the parts AE-FLOW does not use, as in the full model's file."""
    state = {k: v.clone() for k, v in trunk.state_dict().items()}
    state["layer4.0.conv1.weight"] = torch.zeros(1024, 1024, 1, 1)
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 2048), torch.zeros(1000)
    return state


def test_trunk_has_torchvision_names_and_sizes():
    trunk = WideResNet50Trunk()
    assert sum(p.numel() for p in trunk.parameters()) == TRUNK_PARAMETERS
    shapes = {k: tuple(v.shape) for k, v in trunk.state_dict().items()}
    assert shapes["conv1.weight"] == (64, 3, 7, 7)
    assert shapes["layer1.0.conv1.weight"] == (128, 64, 1, 1)  # width 2 × 64
    assert shapes["layer2.0.conv2.weight"] == (256, 256, 3, 3)
    assert shapes["layer3.0.downsample.1.running_mean"] == (1024,)
    assert "layer3.5.bn3.num_batches_tracked" in shapes and not any(k.startswith("layer4") for k in shapes)
    assert trunk(torch.rand(1, 3, 64, 64)).shape == (1, 1024, 4, 4)


def test_saved_state_dict_loads_and_wrong_files_are_refused(tmp_path):
    source = WideResNet50Trunk()
    torch.save(torchvision_like_state(source), tmp_path / "wrn.pth")
    target = WideResNet50Trunk()
    ignored = load_torchvision_weights(target, tmp_path / "wrn.pth")
    assert ignored == ["fc.bias", "fc.weight", "layer4.0.conv1.weight"]
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value)
    partial = torchvision_like_state(source)
    del partial["layer2.1.conv2.weight"]
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(FlowgmmAEError, match="layer2.1.conv2.weight"):
        load_torchvision_weights(WideResNet50Trunk(), tmp_path / "partial.pth")


def test_frozen_trunk_neither_trains_nor_moves_its_statistics():
    encoder = PretrainedEncoder(in_channels=1, latent_channels=8, frozen=True).train()
    before = encoder.trunk.bn1.running_mean.clone()
    z = encoder(torch.rand(2, 1, 32, 32))
    z.sum().backward()
    assert z.shape == (2, 8, 2, 2)
    assert not encoder.trunk.training and torch.equal(encoder.trunk.bn1.running_mean, before)
    assert all(p.grad is None for p in encoder.trunk.parameters())
    assert encoder.project.weight.grad is not None


def test_training_with_the_wrn50_encoder_and_saved_weights(tmp_path):
    torch.save(torchvision_like_state(WideResNet50Trunk()), tmp_path / "wrn.pth")
    args = ["train", "--dataset", "synthetic", "--image-size", "32", "--epochs", "1", "--flow-steps", "1"]
    args += ["--flow-hidden", "8", "--base-width", "8", "--quiet", "--encoder", "wrn50"]
    result = CliRunner().invoke(
        main, [*args, "--encoder-weights", str(tmp_path / "wrn.pth"), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["model"]["encoder"] == "wrn50" and config["model"]["stride"] == 16
    evaluated = CliRunner().invoke(main, ["evaluate", str(tmp_path / "r")])  # rebuilt without the file
    assert evaluated.exit_code == 0, evaluated.output
    wrong = CliRunner().invoke(main, ["train", "--encoder-weights", str(tmp_path / "wrn.pth"), "--quiet"])
    assert wrong.exit_code != 0 and "need encoder='wrn50' (option --encoder-weights" in wrong.output
