"""The training objective: joint exact likelihood of unlabeled and labeled images plus reconstruction.

Per step, with NLL in bits per latent dimension::

    total = α · (NLL_U + λ · NLL_L) + (1 − α) · recon_U + γ · CE

- NLL_U: unlabeled images under the prior's marginal (or under the normal component alone when the
  unlabeled pool is assumed all normal, contamination 0; docs/design.md says why free weights collapse);
- NLL_L: labeled images under their own class component (FlowGMM's labeled term);
- recon_U: 1 − SSIM between unlabeled images and their reconstructions;
- CE (off unless γ > 0): cross-entropy, in nats per image, of the mixture's class posterior p(y | x)
  on the labeled anomalies and the unlabeled images taken as normal. log p(x, y) = log p(x) +
  log p(y | x), so this up-weights the discriminative half of the same joint likelihood (the hybrid
  objective of Nalisnick et al., ICML 2019); the density stays exact and normalised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pytorch_msssim import ssim

from flowgmm_ae.models import AEFlow, AEFlowOutput
from flowgmm_ae.priors import NORMAL, UNLABELED


def ssim_window(image_size: int) -> int:
    """SSIM's Gaussian window (11 as in Wang et al. 2004), shrunk to an odd size that fits."""
    return max(3, min(11, image_size - (1 - image_size % 2)))


def structural_dissimilarity(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """(B,) 1 − SSIM(x, x̂) for images in [0, 1], via pytorch-msssim.

    Always in float32, also under ``--precision bf16``: autocast would otherwise run SSIM's
    Gaussian filters in bf16, whose 8-bit mantissa loses the small local variances SSIM divides by."""
    window = ssim_window(min(x.shape[-2:]))
    with torch.autocast(x.device.type, enabled=False):
        similarity = ssim(x.float(), x_hat.float(), data_range=1.0, size_average=False, win_size=window)
    return 1.0 - similarity


def to_bits_per_dim(nll_nats: torch.Tensor, dim: int) -> torch.Tensor:
    """Nats per sample → bits per dimension, the unit every NLL is reported in."""
    return nll_nats / (dim * math.log(2.0))


@dataclass
class LossTerms:
    """One step's loss and its parts (NLLs in bits/dim)."""

    total: torch.Tensor
    nll_unlabeled: torch.Tensor
    nll_labeled: torch.Tensor
    recon: torch.Tensor
    classification: torch.Tensor | None = None  # CE of p(y | x) in nats/image; None when γ = 0

    def as_floats(self) -> dict[str, float]:
        parts = {
            "loss": float(self.total.detach()),
            "nll_u_bpd": float(self.nll_unlabeled.detach()),
            "nll_l_bpd": float(self.nll_labeled.detach()),
            "recon": float(self.recon.detach()),
        }
        if self.classification is not None:
            parts["class_ce"] = float(self.classification.detach())
        return parts


def joint_objective(
    model: AEFlow,
    x_unlabeled: torch.Tensor,
    out_unlabeled: AEFlowOutput,
    out_labeled: AEFlowOutput | None = None,
    y_labeled: torch.Tensor | None = None,
    alpha: float = 0.5,
    labeled_weight: float = 1.0,
    unlabeled_as_normal: bool = True,
    class_weight: float = 0.0,
) -> LossTerms:
    """The joint loss of one unlabeled and (optionally) one labeled batch.

    ``unlabeled_as_normal`` scores the unlabeled pool under the normal component (contamination 0);
    otherwise under the mixture marginal with the prior's weights. A prior with a single component
    (the standard Gaussian) ignores labels, so pass no labeled batch for it. ``class_weight`` γ > 0
    adds γ · the cross-entropy of the class posterior (mixture prior only).
    """
    dim = model.config.latent_dim
    n_unlabeled = x_unlabeled.shape[0]
    label = NORMAL if unlabeled_as_normal else UNLABELED
    y_unlabeled = torch.full((n_unlabeled,), label, dtype=torch.long, device=x_unlabeled.device)
    nll_u = to_bits_per_dim(-model.log_likelihood(out_unlabeled, y_unlabeled), dim).mean()
    if out_labeled is not None and y_labeled is not None and y_labeled.numel() > 0:
        nll_l = to_bits_per_dim(-model.log_likelihood(out_labeled, y_labeled), dim).mean()
    else:
        nll_l = nll_u.new_zeros(())
    recon = structural_dissimilarity(x_unlabeled, out_unlabeled.x_hat).mean()
    total = alpha * (nll_u + labeled_weight * nll_l) + (1.0 - alpha) * recon
    classification = None
    if class_weight > 0:
        classification = class_posterior_cross_entropy(
            model, out_unlabeled, out_labeled, y_labeled, unlabeled_as_normal
        )
        total = total + class_weight * classification
    return LossTerms(
        total=total, nll_unlabeled=nll_u, nll_labeled=nll_l, recon=recon, classification=classification
    )


def class_posterior_cross_entropy(
    model: AEFlow,
    out_unlabeled: AEFlowOutput,
    out_labeled: AEFlowOutput | None,
    y_labeled: torch.Tensor | None,
    unlabeled_as_normal: bool,
) -> torch.Tensor:
    """Mean −log p(y | x) under the mixture over the images whose class is known: the labeled ones
    and, when the unlabeled pool is taken as normal, the unlabeled ones (as class 0)."""
    if model.prior.n_components < 2:
        raise ValueError("the class term needs the mixture prior (prior='gmm')")
    z_known, y_known = [], []
    if unlabeled_as_normal:
        z_known.append(out_unlabeled.z_prime)
        y_known.append(torch.full((len(out_unlabeled.z_prime),), NORMAL, device=out_unlabeled.z_prime.device))
    if out_labeled is not None and y_labeled is not None and y_labeled.numel() > 0:
        z_known.append(out_labeled.z_prime)
        y_known.append(y_labeled.to(out_labeled.z_prime.device))
    if not z_known:
        return out_unlabeled.z_prime.new_zeros(())
    logits = model.prior.class_log_probs(torch.cat(z_known))
    return F.cross_entropy(logits, torch.cat(y_known).long())
