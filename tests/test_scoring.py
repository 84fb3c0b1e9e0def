import dataclasses

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

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


def test_fused_score_sums_the_standardised_scores_with_half_weight_on_the_flow():
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1], 200)
    scores = {
        "flow": 5.0 + 0.1 * rng.normal(0, 1, 400),  # raw scales differ by orders of magnitude
        "recon": 0.2 + 0.01 * (labels + rng.normal(0, 1, 400)),
        "posterior": -30.0 + 10.0 * (labels + rng.normal(0, 1, 400)),
    }
    normal = {k: v[labels == 0] for k, v in scores.items()}
    combiner = ScoreCombiner.fit(normal, beta=0.9)
    fused = combiner.add_combined(scores)["fused"]
    z = {k: (v - normal[k].mean()) / normal[k].std() for k, v in scores.items()}
    np.testing.assert_allclose(fused, 0.5 * z["flow"] + z["recon"] + z["posterior"])
    # after standardisation the two informative parts both count
    best_part = max(roc_auc_score(labels, scores[k]) for k in ("recon", "posterior"))
    assert roc_auc_score(labels, fused) > best_part


def test_a_combiner_saved_without_the_flow_weight_keeps_the_equal_weights_it_was_saved_with():
    rng = np.random.default_rng(5)
    scores = {k: rng.normal(0, 1, 50) for k in ("flow", "recon", "posterior")}
    state = dataclasses.asdict(ScoreCombiner.fit(scores))
    assert state.pop("fused_flow_weight") == 0.5
    old = ScoreCombiner(**state)  # a detector saved before the weight was recorded
    z = old.standardised(scores)
    np.testing.assert_allclose(old.fused(scores), z["flow"] + z["recon"] + z["posterior"])


def test_no_fused_score_without_a_posterior():
    labels, scores = _scores(np.random.default_rng(4), "flow")
    normal = {k: v[labels == 0] for k, v in scores.items()}
    combiner = ScoreCombiner.fit(normal)
    assert combiner.posterior_mean is None
    assert set(combiner.add_combined(scores)) == {"combined", "flow", "recon"}
