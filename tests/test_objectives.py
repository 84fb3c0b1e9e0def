import copy
import math

import pytest
import torch
from tiny import TINY

from flowgmm_ae.aeflow_method import AEFlowMethod
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.models import AEFlow, ModelConfig
from flowgmm_ae.objectives import (
    consistency_nll,
    joint_objective,
    linear_rampup,
    structural_dissimilarity,
    to_bits_per_dim,
    trimmed_pool,
)
from flowgmm_ae.priors import GaussianMixture

TINY_MODEL = TrainConfig(**TINY).model_config(in_channels=1)


def _batches(model, n_u=6, n_l=3):
    torch.manual_seed(0)
    x_u, x_l = torch.rand(n_u, 1, 16, 16), torch.rand(n_l, 1, 16, 16)
    model.eval()  # no latent noise: identical outputs on every call
    return x_u, model(x_u), model(x_l), torch.ones(n_l, dtype=torch.long)


def test_labeled_term_uses_the_class_component(tiny_model):
    x_u, out_u, out_l, y_l = _batches(tiny_model)
    terms = joint_objective(tiny_model, x_u, out_u, out_l, y_l, alpha=0.5, labeled_weight=2.0)
    dim = tiny_model.config.latent_dim
    anomaly = tiny_model.prior.component_log_probs(out_l.z_prime)[:, 1] + out_l.log_det
    torch.testing.assert_close(terms.nll_labeled, (-anomaly / (dim * math.log(2))).mean())


def test_unlabeled_term_is_normal_component_or_marginal(tiny_model):
    x_u, out_u, _, _ = _batches(tiny_model)
    dim = tiny_model.config.latent_dim
    normal = tiny_model.prior.component_log_probs(out_u.z_prime)[:, 0] + out_u.log_det
    marginal = tiny_model.prior.log_prob(out_u.z_prime) + out_u.log_det
    as_normal = joint_objective(tiny_model, x_u, out_u, pool="normal")
    as_mixture = joint_objective(tiny_model, x_u, out_u, pool="marginal", contamination=0.1)
    torch.testing.assert_close(as_normal.nll_unlabeled, to_bits_per_dim(-normal, dim).mean())
    torch.testing.assert_close(as_mixture.nll_unlabeled, to_bits_per_dim(-marginal, dim).mean())
    assert not torch.allclose(as_normal.nll_unlabeled, as_mixture.nll_unlabeled)


def test_total_weights_the_terms(tiny_model):
    x_u, out_u, out_l, y_l = _batches(tiny_model)
    terms = joint_objective(tiny_model, x_u, out_u, out_l, y_l, alpha=0.3, labeled_weight=2.0)
    expected = 0.3 * (terms.nll_unlabeled + 2.0 * terms.nll_labeled) + 0.7 * terms.recon
    torch.testing.assert_close(terms.total, expected)
    without_labels = joint_objective(tiny_model, x_u, out_u, alpha=0.3)
    assert float(without_labels.nll_labeled) == 0.0


def test_gradient_of_labeled_term_reaches_only_the_anomaly_component(tiny_model):
    x_u, out_u, out_l, y_l = _batches(tiny_model)
    terms = joint_objective(tiny_model, x_u, out_u, out_l, y_l, alpha=1.0)
    terms.nll_labeled.backward()
    grad = tiny_model.prior.means.grad
    assert grad[0].abs().sum() == 0 and grad[1].abs().sum() > 0


def test_ssim_dissimilarity_is_zero_for_identical_images():
    x = torch.rand(3, 1, 16, 16)
    torch.testing.assert_close(structural_dissimilarity(x, x), torch.zeros(3), atol=1e-5, rtol=0)
    assert (structural_dissimilarity(x, torch.rand(3, 1, 16, 16)) > 0.5).all()


def test_class_term_is_the_cross_entropy_of_the_mixture_posterior(tiny_model):
    x_u, out_u, out_l, y_l = _batches(tiny_model)
    plain = joint_objective(tiny_model, x_u, out_u, out_l, y_l, alpha=0.3)
    hybrid = joint_objective(tiny_model, x_u, out_u, out_l, y_l, alpha=0.3, class_weight=2.0)
    assert plain.classification is None and "class_ce" not in plain.as_floats()
    posterior = torch.cat(
        [tiny_model.prior.posterior(out_u.z_prime)[:, 0], tiny_model.prior.posterior(out_l.z_prime)[:, 1]]
    )
    expected_ce = -torch.log(posterior).mean()
    torch.testing.assert_close(hybrid.classification, expected_ce)
    torch.testing.assert_close(hybrid.total, plain.total + 2.0 * expected_ce)
    # Taken as unlabeled (contamination > 0), the unlabeled images carry no class: labeled ones only.
    mixture = joint_objective(tiny_model, x_u, out_u, out_l, y_l, pool="marginal", class_weight=1.0)
    torch.testing.assert_close(
        mixture.classification, -torch.log(tiny_model.prior.posterior(out_l.z_prime)[:, 1]).mean()
    )


def test_class_term_pulls_both_means(tiny_model):
    x_u, out_u, out_l, y_l = _batches(tiny_model)
    terms = joint_objective(tiny_model, x_u, out_u, out_l, y_l, alpha=0.0, class_weight=1.0)
    (terms.total - terms.recon).backward()
    grad = tiny_model.prior.means.grad
    assert grad[0].abs().sum() > 0 and grad[1].abs().sum() > 0


def test_trim_leaves_out_the_most_anomalous_images_of_the_batch(tiny_model):
    x_u, out_u, _, _ = _batches(tiny_model, n_u=6)
    log_odds = tiny_model.prior.log_odds(out_u.z_prime)
    keep = trimmed_pool(tiny_model, out_u, contamination=0.3)  # ⌈0.3 · 6⌉ = 2 left out
    assert keep.sum() == 4
    assert set(torch.nonzero(~keep).flatten().tolist()) == set(log_odds.topk(2).indices.tolist())
    assert trimmed_pool(tiny_model, out_u, contamination=0.0).all()

    dim = tiny_model.config.latent_dim
    normal = tiny_model.prior.component_log_probs(out_u.z_prime)[:, 0] + out_u.log_det
    recon = structural_dissimilarity(x_u, out_u.x_hat)
    trimmed = joint_objective(tiny_model, x_u, out_u, pool="trim", contamination=0.3, class_weight=1.0)
    torch.testing.assert_close(trimmed.nll_unlabeled, to_bits_per_dim(-normal[keep], dim).mean())
    torch.testing.assert_close(trimmed.recon, recon[keep].mean())
    posterior_normal = tiny_model.prior.posterior(out_u.z_prime)[keep, 0]
    torch.testing.assert_close(trimmed.classification, -torch.log(posterior_normal).mean())
    # Trimming at ε = 0 is the plain normal-component objective.
    untrimmed = joint_objective(tiny_model, x_u, out_u, pool="trim", contamination=0.0)
    as_normal = joint_objective(tiny_model, x_u, out_u, pool="normal", contamination=0.3)
    torch.testing.assert_close(untrimmed.total, as_normal.total)


def test_trim_with_a_single_gaussian_leaves_out_the_least_likely_images(tiny_model):
    from flowgmm_ae.models import AEFlow
    from flowgmm_ae.priors import StandardGaussian

    torch.manual_seed(0)
    model = AEFlow(tiny_model.config, StandardGaussian(tiny_model.config.latent_dim)).eval()
    x_u = torch.rand(5, 1, 16, 16)
    out = model(x_u)
    keep = trimmed_pool(model, out, contamination=0.2)
    assert bool(~keep[model.log_likelihood(out).argmin()]) and keep.sum() == 4


def test_unknown_pool_objective_is_refused(tiny_model):
    x_u, out_u, _, _ = _batches(tiny_model)
    with pytest.raises(ValueError, match="trim, normal, marginal"):
        joint_objective(tiny_model, x_u, out_u, pool="drop")


def _encoder_gradients(objective: str, term: str) -> tuple[float, float]:
    """Gradient norms of the encoder and the flow for one loss term, under ``objective``."""
    torch.manual_seed(0)
    config = ModelConfig(**{**TINY_MODEL.to_dict(), "encoder_objective": objective})
    model = AEFlow(config, GaussianMixture(config.latent_dim))
    x = torch.rand(8, 1, 16, 16)
    with torch.no_grad():
        model(x)  # ActNorm's data-dependent initialisation
    terms = joint_objective(model, x, model(x), alpha=0.5)
    getattr(terms, term).backward()

    def norm(module: torch.nn.Module) -> float:
        return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)

    return norm(model.encoder), norm(model.flow)


def test_reconstruction_objective_stops_the_likelihood_at_the_encoder():
    encoder, flow = _encoder_gradients("reconstruction", "nll_unlabeled")
    assert encoder == 0.0 and flow > 0.0  # the flow still fits the density
    encoder, _ = _encoder_gradients("reconstruction", "recon")
    assert encoder > 0.0  # the encoder learns from reconstruction
    encoder, _ = _encoder_gradients("joint", "nll_unlabeled")
    assert encoder > 0.0  # the default lets the likelihood shape the encoder


def test_encoder_objective_changes_nothing_at_scoring_time(tiny_model):
    detached = AEFlow(
        ModelConfig(**{**tiny_model.config.to_dict(), "encoder_objective": "reconstruction"}),
        tiny_model.prior,
    )
    detached.load_state_dict(tiny_model.state_dict())
    x = torch.rand(5, 1, 16, 16)
    tiny_model.eval(), detached.eval()
    with torch.no_grad():
        a, b = tiny_model(x), detached(x)
    for name in ("z_prime", "log_det", "x_hat"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name))


def test_consistency_term_is_the_nll_under_the_class_predicted_for_the_other_view(tiny_model):
    torch.manual_seed(1)
    model = copy.deepcopy(tiny_model).eval()  # no latent noise: the same outputs on every call
    x, second_view = torch.rand(6, 1, 16, 16), torch.rand(6, 1, 16, 16)
    with torch.no_grad():
        z_second = model(second_view).z_prime.flatten(1)
        model.prior.means[0].copy_(z_second[1])  # image 1's second view sits on the normal mean,
        model.prior.means[1].copy_(z_second[0])  # image 0's on the anomaly mean
    predicted = model.prior.class_log_probs(z_second).argmax(1)
    assert predicted[0] == 1 and predicted[1] == 0  # both classes are predicted
    out = model(x)
    component = model.prior.component_log_probs(out.z_prime).gather(1, predicted[:, None]).squeeze(1)
    expected = to_bits_per_dim(-(component + out.log_det), model.config.latent_dim).mean()
    torch.testing.assert_close(consistency_nll(model, out, second_view), expected)


def test_consistency_weight_ramps_up_linearly_over_its_share_of_the_run(tiny_model):
    assert [linear_rampup(p, 0.5) for p in (0.0, 0.25, 0.5, 0.9)] == [0.0, 0.5, 1.0, 1.0]
    assert linear_rampup(0.0, 0.0) == 1.0
    model = copy.deepcopy(tiny_model).eval()
    torch.manual_seed(2)
    x_u, x_l, y_l = torch.rand(6, 1, 16, 16), torch.rand(3, 1, 16, 16), torch.ones(3, dtype=torch.long)
    second_view = torch.rand(9, 1, 16, 16)
    plain = TrainConfig(**TINY)
    weighted = TrainConfig(**TINY, consistency_weight=2.0, consistency_rampup=0.5)
    method = AEFlowMethod()
    base = method.loss(model, x_u, x_l, y_l, plain).total
    at_start = method.loss(model, x_u, x_l, y_l, weighted, second_view=second_view, progress=0.0)
    halfway = method.loss(model, x_u, x_l, y_l, weighted, second_view=second_view, progress=0.25)
    torch.testing.assert_close(at_start.total, base)
    term = halfway.parts["consistency_bpd"]
    torch.testing.assert_close(halfway.total, base + 2.0 * 0.5 * term, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="second view"):
        method.loss(model, x_u, x_l, y_l, weighted)
