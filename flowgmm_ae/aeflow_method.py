"""AE-FLOW as a :class:`~flowgmm_ae.methods.Method`: encoder → flow → decoder under a registered
latent prior (``gaussian``: unsupervised AE-FLOW; ``gmm``: flowgmm-ae)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from flowgmm_ae.data.transforms import augment
from flowgmm_ae.errors import ConfigError
from flowgmm_ae.methods import Method, StepLoss, refuse_mixture_terms, register_method
from flowgmm_ae.models import AEFlow, AEFlowOutput
from flowgmm_ae.models.wide_resnet import load_torchvision_weights
from flowgmm_ae.objectives import (
    POOL_OBJECTIVES,
    consistency_nll,
    joint_objective,
    linear_rampup,
    structural_dissimilarity,
)
from flowgmm_ae.priors import build_prior, prior_entry
from flowgmm_ae.scoring import anomaly_maps, map_scale, raw_scores

if TYPE_CHECKING:
    from flowgmm_ae.config import TrainConfig


@register_method
class AEFlowMethod(Method):
    """AE-FLOW with the configured prior: ``gaussian`` (unsupervised) or ``gmm`` (flowgmm-ae)."""

    name = "aeflow"
    score_names = ("combined", "flow", "recon", "posterior", "fused")
    default_score = "combined"
    has_maps = True
    uses_priors = True
    # 8 x 8 on colour images: on ISIC 2018 it had the better validation AUC with either prior, while
    # the autoencoder and Deep SAD on the same encoder were better at 4 x 4 (docs/results.md).
    latent_side = (4, 8)

    def uses_labels(self, config: TrainConfig) -> bool:
        return prior_entry(config.prior).uses_labels

    def auto_score(self, config: TrainConfig) -> str:
        # Once anomalies are labeled, the fused score (posterior + ½ flow + recon): across
        # PneumoniaMNIST, ChestXRay2017 and ISIC 2018 at 1 % and 5 % labels it had the best mean
        # validation rank, level with the equal-weight sum on every data set and better on ISIC
        # 2018 (docs/results.md, "Which score", "The fused score's weights").
        has_labels = config.labeled_frac > 0 or (config.n_labeled or 0) > 0
        return "fused" if self.uses_labels(config) and has_labels else "combined"

    def default_latent_channels(self, config: TrainConfig) -> int:
        return prior_entry(config.prior).latent_channels

    def run_name(self, config: TrainConfig) -> str:
        return config.prior

    def check(self, config: TrainConfig) -> None:
        try:
            prior_entry(config.prior)
        except ValueError as error:  # its message lists the registered priors
            raise ConfigError(str(error), "prior") from None
        if config.pool not in POOL_OBJECTIVES:
            raise ConfigError(f"pool={config.pool!r}: choose from {', '.join(POOL_OBJECTIVES)}", "pool")
        if config.learn_weights and config.pool != "marginal":
            raise ConfigError(
                "learn_weights fits the mixture weights to the pool, which needs pool='marginal'",
                "learn_weights",
                "pool",
            )
        if not self.uses_labels(config):
            refuse_mixture_terms(config)
        if config.consistency_weight > 0 and not config.augment:
            raise ConfigError(
                "consistency_weight > 0 compares two augmented views of each image: it needs augmentation "
                "(drop --no-augment)",
                "consistency_weight",
                "augment",
            )

    def build(self, config: TrainConfig, in_channels: int) -> AEFlow:
        model_config = config.model_config(in_channels)
        prior = build_prior(
            config.prior,
            model_config.latent_dim,
            contamination=config.pool_contamination(),
            learn_weights=config.learn_weights,
            learn_means=not config.freeze_means,
            learn_scales=not config.freeze_scales,
            seed=config.seed,
        )
        return AEFlow(model_config, prior)

    def pretrain_share(self, config: TrainConfig) -> float:
        return config.resolved_pretrain_fraction()

    def pretrain(
        self,
        model: AEFlow,
        draw_unlabeled: Callable[[torch.Generator], torch.Tensor],
        steps: int,
        config: TrainConfig,
    ) -> None:
        """Autoencoder pretraining (``pretrain_fraction``, as resolved): the encoder and decoder learn to
        reconstruct (1 − SSIM) batches of the whole unlabeled set through the flow as it starts
        (its first batch sets ActNorm; the flow's and the prior's parameters stay as built), so the
        likelihood is then fitted to features it did not shape, as AE-FLOW fits its flow to a
        pretrained encoder's."""
        parameters = [
            p for part in (model.encoder, model.decoder) for p in part.parameters() if p.requires_grad
        ]
        optimizer = torch.optim.Adam(parameters, lr=config.lr)
        generator = torch.Generator().manual_seed(config.seed + 1)
        for _ in range(steps):
            batch = draw_unlabeled(generator)
            if config.augment:
                batch = augment(batch, generator)
            loss = structural_dissimilarity(batch, model(batch).x_hat).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.zero_grad(set_to_none=True)  # the flow's gradients were computed, never applied

    def parameter_groups(self, model: AEFlow, config: TrainConfig) -> list[dict]:
        """One group, or with ``encoder_lr_scale`` below 1 the encoder in a group of its own at
        that share of the learning rate."""
        scale = config.resolved_encoder_lr_scale()
        if scale == 1.0:
            return super().parameter_groups(model, config)
        encoder = [p for p in model.encoder.parameters() if p.requires_grad]
        in_encoder = {id(p) for p in encoder}
        rest = [p for p in model.parameters() if p.requires_grad and id(p) not in in_encoder]
        return [{"params": rest}, {"params": encoder, "lr": config.lr * scale}]

    def initialise(self, model: AEFlow, x_unlabeled: torch.Tensor, config: TrainConfig) -> None:
        if config.encoder_weights:
            ignored = load_torchvision_weights(model.encoder.trunk, config.encoder_weights)
            logging.getLogger("flowgmm_ae").info(
                f"encoder trunk loaded from {config.encoder_weights} ({len(ignored)} later keys unused)"
            )
        # ActNorm's data-dependent initialisation, in train mode as the first step will be. With
        # norm="batch" this pass also moves BatchNorm's running statistics once (momentum 0.1),
        # towards these unlabeled images: harmless, training moves them on every step.
        with torch.no_grad():
            model(x_unlabeled)

    def wants_second_view(self, config: TrainConfig) -> bool:
        return config.consistency_weight > 0

    def loss(
        self, model, x_unlabeled, x_labeled, y_labeled, config, second_view=None, progress=1.0
    ) -> StepLoss:
        """The joint objective of one step. Unlabeled and labeled images go through the model in
        one forward pass. With norm="group" nothing mixes samples; with norm="batch" BatchNorm
        normalises them with the statistics of the joint batch (unlabeled and labeled anomalies
        together) and its running statistics follow that mix. Accepted: scoring runs in eval mode
        on the running statistics, and the mix is the same at every step. With a consistency
        weight, ``second_view`` (another augmentation of the same images) adds FlowGMM's
        consistency term, its weight ramped up over the first ``consistency_rampup`` of the run."""
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
            pool=config.pool_objective(),
            contamination=config.pool_contamination(),
            class_weight=config.class_weight,
        )
        if config.consistency_weight > 0:
            if second_view is None:
                raise ValueError("consistency_weight > 0: the loop must pass the batch's second view")
            terms.consistency = consistency_nll(model, out, second_view)
            weight = config.consistency_weight * linear_rampup(progress, config.consistency_rampup)
            terms.total = terms.total + weight * terms.consistency
        return StepLoss(terms.total, terms.as_floats())

    def raw_scores(self, model, images, device) -> dict[str, np.ndarray]:
        return raw_scores(model, images, device=device)

    def log_odds(self, scores: dict[str, np.ndarray]) -> np.ndarray | None:
        return scores.get("posterior")  # the mixture's class posterior, as log-odds

    def map_scale(self, model, normal, device) -> dict | None:
        return map_scale(model, normal, device=device)

    def anomaly_maps(self, model, images, device) -> dict[str, torch.Tensor]:
        return anomaly_maps(model, images, device=device)
