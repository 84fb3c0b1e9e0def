"""Anomaly scores (higher = more anomalous) and pixel-level anomaly maps.

- ``flow``: −log p(z | normal) in bits/dim, the exact density of the encoder features under the
  normal component and the flow (AE-FLOW's flow score; for the Gaussian prior, its only component);
- ``recon``: 1 − SSIM(x, x̂);
- ``posterior``: log p(z'|1) + log π₁ − log p(z'|0) − log π₀ (mixture prior only);
- ``combined``: β · flow + (1 − β) · recon, each standardised on validation normal images (β = 0.9
  as in AE-FLOW, or chosen on validation with ``beta="auto"``);
- ``fused`` (mixture prior only): posterior + ½ · flow + recon, each standardised on validation
  normal images. No label chooses anything in it, so it works with the single validation anomaly a
  small budget leaves, and it keeps what the reconstruction knows where the posterior alone
  overfits the few labeled anomalies. The flow gets half weight because the posterior already
  holds the normal component's density (the two correlate at 0.76–0.97 over validation images):
  equal weights counted the density about twice (docs/results.md, "Which score" and "The fused
  score's weights").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from flowgmm_ae.models import AEFlow
from flowgmm_ae.objectives import structural_dissimilarity, to_bits_per_dim
from flowgmm_ae.priors import NORMAL


@torch.no_grad()
def raw_scores(
    model: AEFlow, images: torch.Tensor, batch_size: int = 256, device: str | torch.device = "cpu"
) -> dict[str, np.ndarray]:
    """``flow``, ``recon`` and (mixture only) ``posterior`` scores for every image, in eval mode."""
    was_training = model.training
    model.eval()
    parts: dict[str, list[np.ndarray]] = {"flow": [], "recon": [], "posterior": []}
    dim = model.config.latent_dim
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device)
        out = model(x)
        y = torch.full((len(x),), NORMAL, dtype=torch.long, device=x.device)
        parts["flow"].append(to_bits_per_dim(-model.log_likelihood(out, y), dim).cpu().numpy())
        parts["recon"].append(structural_dissimilarity(x, out.x_hat).cpu().numpy())
        if model.prior.n_components > 1:
            parts["posterior"].append(model.prior.log_odds(out.z_prime).cpu().numpy())
    model.train(was_training)
    return {name: np.concatenate(values).astype(np.float64) for name, values in parts.items() if values}


# Chosen on validation across seven settings: docs/results.md, "The fused score's weights".
FUSED_FLOW_WEIGHT = 0.5


def _spread(values: np.ndarray) -> float:
    return float(max(values.std(), 1e-8))


@dataclass
class ScoreCombiner:
    """Standardises the raw scores with validation-normal statistics: mixes flow and recon with β
    (``combined``) and, when the posterior is there, sums all three (``fused``, the flow weighted
    by ``fused_flow_weight``)."""

    flow_mean: float
    flow_std: float
    recon_mean: float
    recon_std: float
    beta: float = 0.9
    posterior_mean: float | None = None  # None: no posterior (Gaussian prior), so no fused score
    posterior_std: float | None = None
    fused_flow_weight: float = 1.0  # what detectors saved before the weight was recorded used

    @classmethod
    def fit(
        cls,
        normal_scores: dict[str, np.ndarray],
        beta: float | str = 0.9,
        labels: np.ndarray | None = None,
        scores: dict[str, np.ndarray] | None = None,
    ) -> ScoreCombiner:
        """Fit the standardisation on the raw scores of validation normal images.

        ``beta="auto"`` also picks β from {0, 0.1, …, 1} to maximise the AUC on validation
        ``scores`` with their ``labels`` (0.9, AE-FLOW's value, when they hold no anomalies)."""
        flow, recon = normal_scores["flow"], normal_scores["recon"]
        if len(flow) == 0:
            raise ValueError("the combined score needs normal validation images to standardise on")
        posterior = normal_scores.get("posterior")
        combiner = cls(
            flow_mean=float(flow.mean()),
            flow_std=_spread(flow),
            recon_mean=float(recon.mean()),
            recon_std=_spread(recon),
            beta=0.9 if beta == "auto" else float(beta),
            posterior_mean=float(posterior.mean()) if posterior is not None else None,
            posterior_std=_spread(posterior) if posterior is not None else None,
            fused_flow_weight=FUSED_FLOW_WEIGHT,
        )
        if not 0.0 <= combiner.beta <= 1.0:
            raise ValueError(f"beta must lie in [0, 1] or be 'auto', got {beta}")
        usable = scores is not None and all(np.isfinite(v).all() for v in scores.values())
        if beta == "auto" and usable and labels is not None and len(np.unique(labels)) == 2:
            grid = np.round(np.linspace(0.0, 1.0, 11), 1)
            aucs = [roc_auc_score(labels, replace(combiner, beta=float(b))(scores)) for b in grid]
            combiner.beta = float(grid[int(np.argmax(aucs))])
        return combiner

    def standardised(self, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """flow, recon and (where fitted and given) posterior, each in validation-normal units."""
        stats = {"flow": (self.flow_mean, self.flow_std), "recon": (self.recon_mean, self.recon_std)}
        if self.posterior_mean is not None and self.posterior_std is not None and "posterior" in scores:
            stats["posterior"] = (self.posterior_mean, self.posterior_std)
        return {name: (scores[name] - mean) / std for name, (mean, std) in stats.items()}

    def __call__(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        """The combined score: β · flow + (1 − β) · recon, both standardised."""
        z = self.standardised(scores)
        return self.beta * z["flow"] + (1.0 - self.beta) * z["recon"]

    def fused(self, scores: dict[str, np.ndarray]) -> np.ndarray | None:
        """posterior + w · flow + recon, each standardised (w = ``fused_flow_weight``); None
        without a posterior."""
        z = self.standardised(scores)
        if "posterior" not in z:
            return None
        return z["posterior"] + self.fused_flow_weight * z["flow"] + z["recon"]

    def add_combined(self, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``scores`` with the combined score and, where it can be formed, the fused one."""
        fused = self.fused(scores)
        return {"combined": self(scores), **({"fused": fused} if fused is not None else {}), **scores}


@torch.no_grad()
def anomaly_maps(
    model: AEFlow, images: torch.Tensor, device: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """Per-pixel maps (B, H, W): the flow map (−log N(z'; μ₀, σ₀) per latent location, summed over
    channels, upsampled bilinearly to the image) and the absolute reconstruction residual. On skin
    lesions the flow map follows the lesion and the residual does not (docs/results.md)."""
    was_training = model.training
    model.eval()
    x = images.to(device)
    out = model(x)
    flow_map = model.prior.location_nll_map(out.z_prime, NORMAL).unsqueeze(1)
    flow_map = F.interpolate(flow_map, size=x.shape[-2:], mode="bilinear", align_corners=False)
    residual = (x - out.x_hat).abs().mean(1)
    model.train(was_training)
    return {"flow": flow_map.squeeze(1).cpu(), "residual": residual.cpu(), "x_hat": out.x_hat.cpu()}


def map_scale(
    model: AEFlow, normal_images: torch.Tensor, batch_size: int = 256, device: str | torch.device = "cpu"
) -> dict[str, list[float]]:
    """Colour ranges for anomaly maps from validation normal images: [median, 99.5th percentile]
    of every pixel value of each map. One fixed scale for all images, so a normal image looks calm
    (per-image min-max scaling makes every image look alarming)."""
    values: dict[str, list[torch.Tensor]] = {"flow": [], "residual": []}
    for start in range(0, len(normal_images), batch_size):
        maps = anomaly_maps(model, normal_images[start : start + batch_size], device)
        for name in values:
            values[name].append(maps[name].flatten())
    scale = {}
    for name, chunks in values.items():
        flat = torch.cat(chunks).double()
        scale[name] = [float(flat.quantile(0.5)), float(flat.quantile(0.995))]
    return scale


@torch.no_grad()
def flow_latents(
    model: AEFlow, images: torch.Tensor, batch_size: int = 256, device: str | torch.device = "cpu"
) -> np.ndarray:
    """(N, D) flattened flow outputs z' in eval mode, for latent-space plots."""
    was_training = model.training
    model.eval()
    chunks = [
        model(images[start : start + batch_size].to(device)).z_prime.flatten(1).cpu().numpy()
        for start in range(0, len(images), batch_size)
    ]
    model.train(was_training)
    return np.concatenate(chunks)
