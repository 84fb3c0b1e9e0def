"""Detectors trained by the shared loop in :mod:`flowgmm_ae.training`.

A :class:`Method` says how to build its torch module, how to initialise it from data, its loss on
one step (an unlabeled batch and a labeled batch of anomalies) and its scores. AE-FLOW with either
prior is :class:`AEFlowMethod`; the baselines in the top-level ``baselines`` package are others, so
every method sees the same data, split, batches, augmentation, checkpoint rule and metrics.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from flowgmm_ae.models import AEFlow, AEFlowOutput
from flowgmm_ae.models.wide_resnet import load_torchvision_weights
from flowgmm_ae.objectives import joint_objective
from flowgmm_ae.priors import build_prior
from flowgmm_ae.scoring import map_scale, raw_scores

if TYPE_CHECKING:
    from flowgmm_ae.config import TrainConfig


@dataclass
class StepLoss:
    """One step's loss to minimise and the parts to log (floats)."""

    total: torch.Tensor
    parts: dict[str, float] = field(default_factory=dict)


class Method:
    """Base class of a detector trained by the shared loop."""

    name: str = ""
    score_names: tuple[str, ...] = ()
    default_score: str = ""
    has_maps: bool = False
    # Share of the run's optimiser steps spent in :meth:`pretrain` before the first step (0: none).
    pretrain_fraction: float = 0.0

    def uses_labels(self, config: TrainConfig) -> bool:
        return True

    def auto_score(self, config: TrainConfig) -> str:
        """The score ``--score auto`` (the default) means for this configuration."""
        return self.default_score

    def build(self, config: TrainConfig, in_channels: int) -> nn.Module:
        raise NotImplementedError

    def pretrain(
        self,
        model: nn.Module,
        draw_unlabeled: Callable[[torch.Generator], torch.Tensor],
        steps: int,
        config: TrainConfig,
    ) -> None:
        """Pretraining for ``steps`` steps on batches ``draw_unlabeled(generator)`` drawn from the
        whole unlabeled set; runs before :meth:`initialise` when ``pretrain_fraction`` > 0."""

    def initialise(self, model: nn.Module, x_unlabeled: torch.Tensor, config: TrainConfig) -> None:
        """Data-dependent initialisation before the first step, from up to 256 unlabeled images
        (default: nothing)."""

    def loss(
        self,
        model: nn.Module,
        x_unlabeled: torch.Tensor,
        x_labeled: torch.Tensor,
        y_labeled: torch.Tensor,
        config: TrainConfig,
    ) -> StepLoss:
        raise NotImplementedError

    def raw_scores(
        self, model: nn.Module, images: torch.Tensor, device: torch.device | str
    ) -> dict[str, np.ndarray]:
        """Every score of ``images`` (higher = more anomalous), computed in eval mode so that
        batch-statistics layers (BatchNorm) use their running statistics: an image's score must
        not depend on the other images of its batch."""
        raise NotImplementedError

    def optimizer_options(self, config: TrainConfig) -> dict:
        """Keyword arguments of the loop's ``torch.optim.Adam`` (default: the run's --lr and
        --weight-decay)."""
        return {"lr": config.lr, "weight_decay": config.weight_decay}

    def map_scale(self, model: nn.Module, normal: torch.Tensor, device: torch.device | str) -> dict | None:
        return None

    def leaves_parameters_unused(self, model: nn.Module, has_labels: bool) -> bool:
        """Whether some trainable parameter may get no gradient from ``loss`` (DDP must then look
        for unused parameters every step)."""
        return False


class AEFlowMethod(Method):
    """AE-FLOW with the configured prior: ``gaussian`` (unsupervised) or ``gmm`` (flowgmm-ae)."""

    name = "aeflow"
    score_names = ("combined", "flow", "recon", "posterior")
    default_score = "combined"
    has_maps = True

    def uses_labels(self, config: TrainConfig) -> bool:
        return config.prior != "gaussian"

    def auto_score(self, config: TrainConfig) -> str:
        # The mixture's class posterior once anomalies are labeled: on PneumoniaMNIST's validation
        # split it ranked at least as well as the combined score (benchmarks/README.md, issue 15).
        has_labels = config.labeled_frac > 0 or (config.n_labeled or 0) > 0
        return "posterior" if config.prior == "gmm" and has_labels else "combined"

    def build(self, config: TrainConfig, in_channels: int) -> AEFlow:
        model_config = config.model_config(in_channels)
        prior = build_prior(
            config.prior,
            model_config.latent_dim,
            contamination=config.contamination,
            learn_weights=config.learn_weights,
            learn_means=not config.freeze_means,
            learn_scales=not config.freeze_scales,
            seed=config.seed,
        )
        return AEFlow(model_config, prior)

    def initialise(self, model: AEFlow, x_unlabeled: torch.Tensor, config: TrainConfig) -> None:
        if config.encoder_weights:
            ignored = load_torchvision_weights(model.encoder.trunk, config.encoder_weights)
            logging.getLogger("flowgmm_ae").info(
                f"encoder trunk loaded from {config.encoder_weights} ({len(ignored)} later keys unused)"
            )
        # ActNorm's data-dependent initialisation, in train mode as the first step will be. With
        # --norm batch this pass also moves BatchNorm's running statistics once (momentum 0.1),
        # towards these unlabeled images: harmless, training moves them on every step.
        with torch.no_grad():
            model(x_unlabeled)

    def loss(self, model, x_unlabeled, x_labeled, y_labeled, config) -> StepLoss:
        """The joint objective of one step. Unlabeled and labeled images go through the model in
        one forward pass. With --norm group nothing mixes samples; with --norm batch BatchNorm
        normalises them with the statistics of the joint batch (unlabeled and labeled anomalies
        together) and its running statistics follow that mix. Accepted: scoring runs in eval mode
        on the running statistics, and the mix is the same at every step."""
        n_unlabeled = len(x_unlabeled)
        out = model(torch.cat([x_unlabeled, x_labeled]))  # one pass (see the docstring on BatchNorm)
        out_u, out_l = (
            AEFlowOutput(*(t[part] for t in (out.z, out.z_prime, out.log_det, out.x_hat)))
            for part in (slice(None, n_unlabeled), slice(n_unlabeled, None))
        )
        has_labels = len(x_labeled) > 0
        terms = joint_objective(
            model,
            x_unlabeled,
            out_u,
            out_l if has_labels else None,
            y_labeled if has_labels else None,
            alpha=config.alpha,
            labeled_weight=config.labeled_weight,
            unlabeled_as_normal=config.contamination == 0 and not config.learn_weights,
            class_weight=config.class_weight,
        )
        return StepLoss(terms.total, terms.as_floats())

    def raw_scores(self, model, images, device) -> dict[str, np.ndarray]:
        return raw_scores(model, images, device=device)

    def map_scale(self, model, normal, device) -> dict | None:
        return map_scale(model, normal, device=device)


BASELINES = ("ae", "cnn", "deepsad", "devnet", "supervised")
METHODS = ("aeflow", *BASELINES)
# Every score name any method gives (AE-FLOW's, then the baselines': probability, deviation,
# distance, logit).
SCORE_CHOICES = ("combined", "flow", "recon", "posterior", "probability", "deviation", "distance", "logit")


def get_method(name: str) -> Method:
    """The method called ``name``: ``aeflow`` or one of the baselines."""
    if name == "aeflow":
        return AEFlowMethod()
    if name in BASELINES:
        module = importlib.import_module("baselines")
        return module.BASELINE_METHODS[name]()
    raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
