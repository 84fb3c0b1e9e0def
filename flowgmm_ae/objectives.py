"""The training objective: joint exact likelihood of unlabeled and labeled images plus reconstruction.

Per step, with NLL in bits per latent dimension::

    total = α · (NLL_U + λ · NLL_L) + (1 − α) · recon_U + γ · CE

- NLL_U: unlabeled images under the normal component. When the pool is said to hold a fraction ε of
  anomalies (``contamination``), ``pool`` says what to do with them: ``trim`` (the default) leaves the
  ⌈ε·B⌉ images of each batch that the mixture finds most anomalous out of the unlabeled terms (a
  trimmed likelihood, as in least trimmed squares), ``marginal`` scores every image under the
  mixture marginal with weights (1 − ε, ε) as FlowGMM does, ``normal`` ignores ε. The marginal
  collapsed on PneumoniaMNIST at ε = 0.1 (README, 'Unlabeled pools that hold anomalies'; free
  weights too, docs/design.md);
- NLL_L: labeled images under their own class component (FlowGMM's labeled term);
- recon_U: 1 − SSIM between unlabeled images and their reconstructions (trimmed images left out);
- CE (off unless γ > 0): cross-entropy, in nats per image, of the mixture's class posterior p(y | x)
  on the labeled anomalies and the unlabeled images taken as normal (those NLL_U fits to).
  log p(x, y) = log p(x) + log p(y | x), so this up-weights the discriminative half of the same
  joint likelihood (the hybrid objective of Nalisnick et al., ICML 2019); the density stays exact
  and normalised.

A separate term, :func:`consistency_nll` (off unless its weight is above 0), is FlowGMM's
consistency regularisation (Izmailov et al., ICML 2020): each image's NLL under the class the
mixture predicts for a second augmented view of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pytorch_msssim import ssim

from flowgmm_ae.models import AEFlow, AEFlowOutput
from flowgmm_ae.priors import ANOMALY, NORMAL, UNLABELED

POOL_OBJECTIVES = ("trim", "normal", "marginal")  # how a contaminated unlabeled pool is explained


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
    consistency: torch.Tensor | None = None  # bits/dim; None when its weight is 0

    def as_floats(self) -> dict[str, float]:
        parts = {
            "loss": float(self.total.detach()),
            "nll_u_bpd": float(self.nll_unlabeled.detach()),
            "nll_l_bpd": float(self.nll_labeled.detach()),
            "recon": float(self.recon.detach()),
        }
        if self.classification is not None:
            parts["class_ce"] = float(self.classification.detach())
        if self.consistency is not None:
            parts["consistency_bpd"] = float(self.consistency.detach())
        return parts


def trimmed_pool(model: AEFlow, out_unlabeled: AEFlowOutput, contamination: float) -> torch.Tensor:
    """(B,) bool: the unlabeled images the normal component is fitted to, all but the ⌈ε·B⌉ the
    prior finds most anomalous (the mixture's log-odds; a single Gaussian's lowest density).

    Ranking uses the current model without gradients: which images are left out is a hard,
    per-step choice, as in least trimmed squares (Rousseeuw, 1984)."""
    n_images = len(out_unlabeled.z_prime)
    keep = torch.ones(n_images, dtype=torch.bool, device=out_unlabeled.z_prime.device)
    n_trimmed = min(math.ceil(contamination * n_images - 1e-9), n_images - 1) if contamination > 0 else 0
    if n_trimmed <= 0:
        return keep
    with torch.no_grad():
        z = out_unlabeled.z_prime.flatten(1).float()
        log_probs = model.prior.class_log_probs(z)
        if log_probs.shape[1] > 1:
            anomalousness = log_probs[:, ANOMALY] - log_probs[:, NORMAL]
        else:
            anomalousness = -(log_probs[:, NORMAL] + out_unlabeled.log_det.float())
    keep[anomalousness.topk(n_trimmed).indices] = False
    return keep


def joint_objective(
    model: AEFlow,
    x_unlabeled: torch.Tensor,
    out_unlabeled: AEFlowOutput,
    out_labeled: AEFlowOutput | None = None,
    y_labeled: torch.Tensor | None = None,
    alpha: float = 0.5,
    labeled_weight: float = 1.0,
    pool: str = "normal",
    contamination: float = 0.0,
    class_weight: float = 0.0,
) -> LossTerms:
    """The joint loss of one unlabeled and (optionally) one labeled batch.

    ``pool`` and ``contamination`` ε say how the unlabeled batch is explained (module docstring):
    ``normal`` under the normal component, ``trim`` the same without its ⌈ε·B⌉ most anomalous
    images, ``marginal`` under the mixture marginal. A prior with a single component (the standard
    Gaussian) ignores labels, so pass no labeled batch for it. ``class_weight`` γ > 0 adds γ · the
    cross-entropy of the class posterior (mixture prior only).
    """
    if pool not in POOL_OBJECTIVES:
        raise ValueError(f"unknown pool objective {pool!r}: choose from {', '.join(POOL_OBJECTIVES)}")
    dim = model.config.latent_dim
    n_unlabeled = x_unlabeled.shape[0]
    as_normal = pool != "marginal"
    label = NORMAL if as_normal else UNLABELED
    y_unlabeled = torch.full((n_unlabeled,), label, dtype=torch.long, device=x_unlabeled.device)
    keep = trimmed_pool(model, out_unlabeled, contamination) if pool == "trim" else None
    nll_u_each = to_bits_per_dim(-model.log_likelihood(out_unlabeled, y_unlabeled), dim)
    recon_each = structural_dissimilarity(x_unlabeled, out_unlabeled.x_hat)
    nll_u = nll_u_each.mean() if keep is None else nll_u_each[keep].mean()
    recon = recon_each.mean() if keep is None else recon_each[keep].mean()
    if out_labeled is not None and y_labeled is not None and y_labeled.numel() > 0:
        nll_l = to_bits_per_dim(-model.log_likelihood(out_labeled, y_labeled), dim).mean()
    else:
        nll_l = nll_u.new_zeros(())
    total = alpha * (nll_u + labeled_weight * nll_l) + (1.0 - alpha) * recon
    classification = None
    if class_weight > 0:
        known_normal = None
        if as_normal:
            known_normal = out_unlabeled.z_prime if keep is None else out_unlabeled.z_prime[keep]
        classification = class_posterior_cross_entropy(model, known_normal, out_labeled, y_labeled)
        total = total + class_weight * classification
    return LossTerms(
        total=total, nll_unlabeled=nll_u, nll_labeled=nll_l, recon=recon, classification=classification
    )


def class_posterior_cross_entropy(
    model: AEFlow,
    z_normal: torch.Tensor | None,
    out_labeled: AEFlowOutput | None,
    y_labeled: torch.Tensor | None,
) -> torch.Tensor:
    """Mean −log p(y | x) under the mixture over the images whose class is known: the labeled ones
    and ``z_normal``, the latents of unlabeled images taken as normal (class 0; None: none)."""
    if model.prior.n_components < 2:
        raise ValueError("the class term needs the mixture prior (prior='gmm')")
    z_known, y_known = [], []
    if z_normal is not None and len(z_normal):
        z_known.append(z_normal)
        y_known.append(torch.full((len(z_normal),), NORMAL, device=z_normal.device))
    if out_labeled is not None and y_labeled is not None and y_labeled.numel() > 0:
        z_known.append(out_labeled.z_prime)
        y_known.append(y_labeled.to(out_labeled.z_prime.device))
    if not z_known:
        reference = z_normal if z_normal is not None else model.prior.means
        return reference.new_zeros(())
    logits = model.prior.class_log_probs(torch.cat(z_known).flatten(1))
    return F.cross_entropy(logits, torch.cat(y_known).long())


def consistency_nll(model: AEFlow, out_view: AEFlowOutput, second_view: torch.Tensor) -> torch.Tensor:
    """FlowGMM's consistency term: the mean NLL (bits/dim) of each image's latent ``out_view``
    under the class the mixture predicts for ``second_view``, another augmented view of the same
    images (in the same order).

    The prediction is a hard label made without gradients, as in the authors' implementation
    (``experiments/train_flows/train_semisup_cons.py`` of izmailovpavel/flowgmm); the second view
    passes through the model in its current mode, so in training BatchNorm's running statistics
    see it too. An unlabeled image the mixture finds anomalous is pulled to the anomaly component
    here, where the unlabeled term fits it to the normal one."""
    if model.prior.n_components < 2:
        raise ValueError("the consistency term needs the mixture prior (prior='gmm')")
    with torch.no_grad():
        predicted = model.prior.class_log_probs(model(second_view).z_prime.flatten(1).float()).argmax(1)
    nll = to_bits_per_dim(-model.log_likelihood(out_view, predicted), model.config.latent_dim)
    return nll.mean()


def linear_rampup(progress: float, rampup: float) -> float:
    """A weight's share at ``progress`` (the run's share done): rising linearly from 0 to 1 over
    the first ``rampup`` of the run, 1 after it (and throughout when ``rampup`` is 0)."""
    return 1.0 if rampup <= 0 else min(1.0, max(0.0, progress) / rampup)
