import numpy as np
import pytest

from flowgmm_ae.scoring import ScoreCombiner


def _scores(rng, informative: str):
    labels = np.repeat([0, 1], 200)
    signal = labels * 2.0 + rng.normal(0, 1, 400)
    noise = rng.normal(0, 1, 400)
    scores = {
        "flow": signal if informative == "flow" else noise,
        "recon": signal if informative == "recon" else noise,
    }
    return labels, scores


@pytest.mark.parametrize("informative, expected", [("flow", 1.0), ("recon", 0.0)])
def test_auto_beta_follows_the_informative_score(informative, expected):
    labels, scores = _scores(np.random.default_rng(0), informative)
    normal = {k: v[labels == 0] for k, v in scores.items()}
    combiner = ScoreCombiner.fit(normal, beta="auto", labels=labels, scores=scores)
    assert combiner.beta == pytest.approx(expected, abs=0.1)


def test_fixed_beta_and_standardisation_on_normals():
    labels, scores = _scores(np.random.default_rng(1), "flow")
    normal = {k: v[labels == 0] for k, v in scores.items()}
    combiner = ScoreCombiner.fit(normal, beta=0.9)
    assert combiner.beta == 0.9
    combined_normals = combiner(normal)
    assert abs(combined_normals.mean()) < 1e-9  # both parts standardised to mean 0 on normals
    with pytest.raises(ValueError, match="beta"):
        ScoreCombiner.fit(normal, beta=1.5)


def test_auto_beta_without_validation_anomalies_keeps_ae_flows_value():
    labels, scores = _scores(np.random.default_rng(2), "flow")
    normal = {k: v[labels == 0] for k, v in scores.items()}
    combiner = ScoreCombiner.fit(normal, beta="auto", labels=labels[labels == 0], scores=normal)
    assert combiner.beta == 0.9
