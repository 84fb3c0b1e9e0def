import math

import pytest
import torch
from torch import distributions as D

from flowgmm_ae.priors import GaussianMixture, StandardGaussian, build_prior


def _reference_components(prior: GaussianMixture) -> D.Independent:
    return D.Independent(D.Normal(prior.means, prior.log_scales.exp()), 1)


def _randomise(prior: GaussianMixture) -> GaussianMixture:
    torch.manual_seed(1)
    with torch.no_grad():
        prior.means.add_(torch.randn_like(prior.means) * 0.3)
        prior.log_scales.copy_(torch.randn_like(prior.log_scales) * 0.2)
        prior.weight_logits.copy_(torch.tensor([0.3, -0.4]))
    return prior


def test_standard_gaussian_matches_torch_distributions():
    z = torch.randn(5, 12)
    reference = D.Independent(D.Normal(torch.zeros(12), torch.ones(12)), 1).log_prob(z)
    prior = StandardGaussian(12)
    torch.testing.assert_close(prior.log_prob(z), reference)
    # labels are ignored: the same density whatever y says
    torch.testing.assert_close(prior.log_prob(z, torch.tensor([1, 0, -1, 1, 0])), reference)


def test_mixture_components_and_marginal_match_torch_distributions():
    prior = _randomise(GaussianMixture(dim=10))
    z = torch.randn(7, 10)
    components = _reference_components(prior)
    per_component = components.log_prob(z.unsqueeze(1))  # (B, K)
    torch.testing.assert_close(prior.component_log_probs(z), per_component)
    mixture = D.MixtureSameFamily(D.Categorical(logits=prior.weight_logits), components)
    torch.testing.assert_close(prior.log_prob(z), mixture.log_prob(z))
    torch.testing.assert_close(prior.log_prob(z, torch.full((7,), -1)), mixture.log_prob(z))


def test_labeled_samples_use_their_own_component():
    prior = _randomise(GaussianMixture(dim=6))
    z = torch.randn(4, 6)
    y = torch.tensor([0, 1, -1, 1])
    components = _reference_components(prior).log_prob(z.unsqueeze(1))
    got = prior.log_prob(z, y)
    torch.testing.assert_close(got[0], components[0, 0])
    torch.testing.assert_close(got[1], components[1, 1])
    torch.testing.assert_close(got[3], components[3, 1])
    torch.testing.assert_close(got[2], prior.log_prob(z[2:3])[0])


def test_posterior_and_log_odds_are_consistent():
    prior = _randomise(GaussianMixture(dim=6))
    z = torch.randn(9, 6)
    posterior = prior.posterior(z)
    torch.testing.assert_close(posterior.sum(1), torch.ones(9))
    torch.testing.assert_close(prior.log_odds(z), torch.log(posterior[:, 1] / posterior[:, 0]))


def test_anomaly_mean_starts_apart_and_switches_freeze():
    prior = GaussianMixture(dim=64, anomaly_offset=1.0, learn_means=False, learn_weights=False)
    assert torch.norm(prior.means[1] - prior.means[0]) == pytest.approx(8.0)
    assert not prior.means.requires_grad and not prior.weight_logits.requires_grad
    assert prior.log_scales.requires_grad


def test_location_map_sums_to_the_component_density():
    prior = _randomise(GaussianMixture(dim=2 * 3 * 3))
    z = torch.randn(4, 2, 3, 3)
    maps = prior.location_nll_map(z, 0)
    assert maps.shape == (4, 3, 3)
    torch.testing.assert_close(-maps.sum((1, 2)), prior.component_log_probs(z)[:, 0])


def test_no_full_covariance_for_large_latents():
    prior = GaussianMixture(dim=50_000)
    z = torch.randn(2, 50_000)
    assert torch.isfinite(prior.log_prob(z)).all()
    assert sum(p.numel() for p in prior.parameters()) == 2 * 2 * 50_000 + 2


def test_build_prior_rejects_unknown_names_and_sets_weights():
    with pytest.raises(ValueError, match="unknown prior"):
        build_prior("flat", 4)
    assert torch.allclose(build_prior("gmm", 4).log_weights().exp(), torch.tensor([0.5, 0.5]))
    contaminated = build_prior("gmm", 4, contamination=0.1)
    assert contaminated.log_weights().exp()[1].item() == pytest.approx(0.1)
    assert isinstance(build_prior("gaussian", 4), StandardGaussian)
    assert math.isclose(float(build_prior("gaussian", 4).log_weights()[0]), 0.0)


def test_build_prior_passes_the_freeze_switches():
    prior = build_prior("gmm", 4, learn_means=False, learn_scales=False)
    assert not prior.means.requires_grad and not prior.log_scales.requires_grad
    assert torch.equal(prior.log_scales, torch.zeros(2, 4))
