import math

import torch

from flowgmm_ae.objectives import joint_objective, structural_dissimilarity, to_bits_per_dim


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
    as_normal = joint_objective(tiny_model, x_u, out_u, unlabeled_as_normal=True)
    as_mixture = joint_objective(tiny_model, x_u, out_u, unlabeled_as_normal=False)
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
    mixture = joint_objective(tiny_model, x_u, out_u, out_l, y_l, unlabeled_as_normal=False, class_weight=1.0)
    torch.testing.assert_close(
        mixture.classification, -torch.log(tiny_model.prior.posterior(out_l.z_prime)[:, 1]).mean()
    )


def test_class_term_pulls_both_means(tiny_model):
    x_u, out_u, out_l, y_l = _batches(tiny_model)
    terms = joint_objective(tiny_model, x_u, out_u, out_l, y_l, alpha=0.0, class_weight=1.0)
    (terms.total - terms.recon).backward()
    grad = tiny_model.prior.means.grad
    assert grad[0].abs().sum() > 0 and grad[1].abs().sum() > 0
