"""Shared fixtures: tiny model settings, and the real data found through $FLOWGMM_AE_DATA.

Tests that need real data are skipped with a reason when it is absent, unless
FLOWGMM_AE_REQUIRE_DATA=1 (set by .ci/run), in which case a missing data set is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import settings
from tiny import TINY

from flowgmm_ae.config import TrainConfig
from flowgmm_ae.models import AEFlow, ModelConfig
from flowgmm_ae.priors import GaussianMixture

TINY_MODEL = TrainConfig(**TINY).model_config(in_channels=1)

# Property-based tests draw the same cases on every run ("ci": derandomised, so a failure found in CI
# reproduces); benchmarks/fuzz.sh runs them at volume with fresh draws ("volume").
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("volume", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("FLOWGMM_AE_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test may reach the network, nor write decoded images into the user's cache."""
    monkeypatch.setenv("FLOWGMM_AE_OFFLINE", "1")
    monkeypatch.setenv("FLOWGMM_AE_CACHE", str(tmp_path_factory.mktemp("decoded-cache")))


@pytest.fixture
def tiny_model() -> AEFlow:
    torch.manual_seed(0)
    model = AEFlow(ModelConfig(**TINY_MODEL.to_dict()), GaussianMixture(TINY_MODEL.latent_dim))
    with torch.no_grad():
        model(torch.rand(32, 1, 16, 16))  # ActNorm's data-dependent initialisation
    return model


def _require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    message = f"{what} not found at {path} (set FLOWGMM_AE_DATA to the shared data folder)"
    if os.environ.get("FLOWGMM_AE_REQUIRE_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def data_root() -> Path:
    root = os.environ.get("FLOWGMM_AE_DATA")
    if not root:
        if os.environ.get("FLOWGMM_AE_REQUIRE_DATA") == "1":
            pytest.fail("FLOWGMM_AE_DATA is not set but real data is required")
        pytest.skip("FLOWGMM_AE_DATA is not set: real-data tests need the shared data folder")
    return Path(root)


@pytest.fixture
def pneumoniamnist(data_root: Path) -> Path:
    return _require(data_root / "medmnist" / "pneumoniamnist.npz", "PneumoniaMNIST")
