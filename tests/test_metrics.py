import numpy as np
import pytest

from flowgmm_ae.metrics import (
    bootstrap_auc_interval,
    choose_threshold,
    evaluate,
    paired_bootstrap_auc_difference,
    ranking_metrics,
    subtype_metrics,
    threshold_metrics,
)


def test_threshold_metrics_by_hand():
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.7, 0.4, 0.8, 0.9])
    m = threshold_metrics(labels, scores, 0.5)  # predicted anomalous: 0.7, 0.8, 0.9
    assert m["sen"] == pytest.approx(2 / 3) and m["spe"] == pytest.approx(2 / 3)
    assert m["acc"] == pytest.approx(4 / 6) and m["f1"] == pytest.approx(2 / 3)


def test_max_f1_threshold_separates_separable_scores():
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    threshold, policy = choose_threshold(labels, scores)
    assert policy == "f1" and 0.3 < threshold <= 0.8
    assert threshold_metrics(labels, scores, threshold)["f1"] == 1.0


def test_normal_quantile_policy_when_validation_has_no_anomalies():
    labels = np.zeros(101, dtype=int)
    scores = np.arange(101, dtype=float)
    threshold, policy = choose_threshold(labels, scores)
    assert policy.startswith("normal-quantile") and threshold == pytest.approx(95.0)
    with pytest.raises(ValueError, match="needs anomalies"):
        choose_threshold(labels, scores, policy="f1")


def test_evaluate_uses_the_validation_threshold_on_test():
    rng = np.random.default_rng(0)
    val_labels, test_labels = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    val_scores = val_labels + rng.normal(0, 0.5, 200)
    test_scores = test_labels + rng.normal(0, 0.5, 200) + 5.0  # shifted: every test image flagged
    result = evaluate(val_labels, val_scores, test_labels, test_scores)
    assert result["test"]["threshold"] == result["val"]["threshold"]
    assert result["test"]["sen"] == 1.0 and result["test"]["spe"] == 0.0
    assert result["test"]["auc"] == pytest.approx(ranking_metrics(test_labels, test_scores)["auc"])


def test_bootstrap_interval_contains_the_auc():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = labels + rng.normal(0, 1, 300)
    low, high = bootstrap_auc_interval(labels, scores, n_resamples=200)
    assert low < ranking_metrics(labels, scores)["auc"] < high


def test_non_finite_scores_are_rejected():
    with pytest.raises(ValueError, match="not finite"):
        ranking_metrics(np.array([0, 1]), np.array([0.0, np.nan]))


def test_resampled_aucs_match_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    from flowgmm_ae.metrics import resampled_aucs

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 80)
    scores = np.round(labels + rng.normal(0, 1, 80), 1)  # rounded: many ties
    indices = rng.integers(0, 80, (20, 80))
    expected = [roc_auc_score(labels[i], scores[i]) for i in indices]
    np.testing.assert_allclose(resampled_aucs(labels, scores, indices), expected)
    single_class = np.flatnonzero(labels == 0)[:5][None, :]
    assert np.isnan(resampled_aucs(labels, scores, single_class)[0])


def test_subtype_metrics_by_hand():
    # normals 0.1, 0.2, 0.6; bacteria 0.5, 0.9; virus 0.15, 0.7
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.6, 0.5, 0.9, 0.15, 0.7])
    kinds = ["normal"] * 3 + ["bacteria"] * 2 + ["virus"] * 2
    report = subtype_metrics(labels, scores, kinds, seen=["bacteria"])
    # bacteria beats 2 of 3 normals (0.5) and 3 of 3 (0.9): 5 / 6; virus: 1 + 3 of 6.
    assert report["bacteria"]["auc"] == pytest.approx(5 / 6) and report["bacteria"]["n"] == 2
    assert report["virus"]["auc"] == pytest.approx(4 / 6)
    assert report["bacteria"]["seen"] is True and report["virus"]["seen"] is False
    assert report["seen"]["auc"] == pytest.approx(5 / 6) and report["unseen"]["auc"] == pytest.approx(4 / 6)
    # AUPRC of virus: ranked 0.7 (anomaly), 0.6, 0.2, 0.15 (anomaly), 0.1 -> (1/1 + 2/4) / 2
    assert report["virus"]["auprc"] == pytest.approx((1 + 2 / 4) / 2)
    assert set(subtype_metrics(labels, scores, kinds)) == {"bacteria", "virus"}
    with pytest.raises(ValueError, match="subtypes"):
        subtype_metrics(labels, scores, kinds[:-1])


def test_paired_bootstrap_of_the_auc_difference():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 150 + [1] * 150)
    signal = labels + rng.normal(0, 1.0, labels.size)
    better, worse = signal + rng.normal(0, 0.1, labels.size), signal + rng.normal(0, 1.5, labels.size)
    pairs = [(labels, better, worse), (labels[::-1].copy(), better[::-1].copy(), worse[::-1].copy())]
    delta, low, high = paired_bootstrap_auc_difference(pairs, n_resamples=300)
    expected = ranking_metrics(labels, better)["auc"] - ranking_metrics(labels, worse)["auc"]
    assert delta == pytest.approx(expected)  # the second seed: the same images in reverse order
    assert 0 < low < delta < high
    same, low, high = paired_bootstrap_auc_difference([(labels, better, better)], n_resamples=50)
    assert same == low == high == 0.0  # the same scores on the same resampled images never differ
