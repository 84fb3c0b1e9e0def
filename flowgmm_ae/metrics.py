"""Detection metrics and the threshold policy, on top of scikit-learn.

Scores are "higher = more anomalous"; an image is predicted anomalous when score ≥ threshold.
Thresholds are chosen on validation data only: the one maximising F1 when validation holds anomalies
(policy ``f1``), else the ``normal_quantile`` of validation normal scores (``normal-quantile``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

THRESHOLD_POLICIES = ("auto", "f1", "normal-quantile")


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if labels.shape != scores.shape:
        raise ValueError(f"{labels.size} labels but {scores.size} scores")
    if not np.isfinite(scores).all():
        raise ValueError(f"{int((~np.isfinite(scores)).sum())} scores are not finite")
    return labels, scores


def diagnostic_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC for a diagnostic that chooses nothing; NaN where the scores are not finite (a diverging
    run's other scores or checkpoints: the score a run keeps is checked where it is used)."""
    return ranking_metrics(labels, scores)["auc"] if np.isfinite(scores).all() else float("nan")


def ranking_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUC (ROC) and AUPRC; NaN where only one class is present."""
    labels, scores = _check(labels, scores)
    if len(np.unique(labels)) < 2:
        return {"auc": float("nan"), "auprc": float("nan")}
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "auprc": float(average_precision_score(labels, scores)),
    }


def subtype_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    subtypes: list[str],
    seen: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """AUC and AUPRC of each anomaly subtype's images against every normal image, with the subtype's
    image count. Given the ``seen`` subtypes (those labels were drawn from), also ``seen`` and
    ``unseen`` entries that pool each group's subtypes against the normals, and a ``seen`` flag
    on every subtype."""
    labels, scores = _check(labels, scores)
    kinds = np.asarray(subtypes, dtype=object)
    if kinds.shape != labels.shape:
        raise ValueError(f"{labels.size} labels but {kinds.size} subtypes")
    normal = labels == 0
    names = sorted({str(k) for k in kinds[labels == 1]})
    groups: dict[str, np.ndarray] = {name: (labels == 1) & (kinds == name) for name in names}
    if seen is not None:
        chosen = np.isin(kinds, list(seen))
        groups["seen"] = (labels == 1) & chosen
        groups["unseen"] = (labels == 1) & ~chosen
    report: dict[str, dict[str, Any]] = {}
    for name, anomalous in groups.items():
        mask = normal | anomalous
        entry: dict[str, Any] = {**ranking_metrics(labels[mask], scores[mask]), "n": int(anomalous.sum())}
        if seen is not None and name in names:
            entry["seen"] = name in seen
        report[name] = entry
    return report


def max_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold at which F1 is highest."""
    labels, scores = _check(labels, scores)
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def choose_threshold(
    labels: np.ndarray, scores: np.ndarray, policy: str = "auto", normal_quantile: float = 0.95
) -> tuple[float, str]:
    """(threshold, policy used) from validation labels and scores."""
    labels, scores = _check(labels, scores)
    if policy not in THRESHOLD_POLICIES:
        raise ValueError(f"unknown threshold policy {policy!r}; choose from {THRESHOLD_POLICIES}")
    has_anomalies = bool((labels == 1).any())
    if policy == "auto":
        policy = "f1" if has_anomalies else "normal-quantile"
    if policy == "f1":
        if not has_anomalies:
            raise ValueError("the f1 threshold policy needs anomalies in the validation split")
        return max_f1_threshold(labels, scores), "f1"
    normal = scores[labels == 0]
    if normal.size == 0:
        raise ValueError("the normal-quantile policy needs normal images in the validation split")
    return float(np.quantile(normal, normal_quantile)), f"normal-quantile({normal_quantile:g})"


def threshold_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """F1, accuracy, sensitivity (recall of anomalies) and specificity at ``threshold``."""
    labels, scores = _check(labels, scores)
    predicted = scores >= threshold
    positive = labels == 1
    tp = int((predicted & positive).sum())
    fp = int((predicted & ~positive).sum())
    fn = int((~predicted & positive).sum())
    tn = int((~predicted & ~positive).sum())
    sen = tp / (tp + fn) if tp + fn else float("nan")
    spe = tn / (tn + fp) if tn + fp else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {
        "f1": f1,
        "acc": (tp + tn) / len(labels),
        "sen": sen,
        "spe": spe,
        "threshold": threshold,
    }


def resampled_aucs(labels: np.ndarray, scores: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """AUC of each resample (row of ``indices``) at once, through the Mann–Whitney rank identity
    AUC = (Σ ranks of anomalies − n₁(n₁+1)/2) / (n₁ n₀), with average ranks for ties.

    Equal to scikit-learn's ``roc_auc_score`` per row but vectorised: a thousand bootstrap AUCs of
    a test set cost milliseconds instead of seconds. Rows with a single class give NaN."""
    labels, scores = _check(labels, scores)
    resampled_labels = labels[indices] == 1
    ranks = rankdata(scores[indices], axis=1)
    n_pos = resampled_labels.sum(axis=1)
    n_neg = indices.shape[1] - n_pos
    u = (ranks * resampled_labels).sum(axis=1) - n_pos * (n_pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan)


def bootstrap_auc_interval(
    labels: np.ndarray, scores: np.ndarray, n_resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval for the AUC, resampling images with replacement."""
    labels, scores = _check(labels, scores)
    rng = np.random.default_rng(seed)
    aucs = resampled_aucs(labels, scores, rng.integers(0, len(labels), (n_resamples, len(labels))))
    aucs = aucs[np.isfinite(aucs)]
    if aucs.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(aucs, [tail, 100 - tail])
    return float(low), float(high)


def paired_bootstrap_auc_difference(
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Test-set noise of a paired comparison: the mean over seeds of AUC(a) − AUC(b), and its
    percentile interval when the test images are resampled with replacement.

    ``pairs`` holds, per seed, the test labels and the two methods' scores of the same images. In
    each resample both methods of a seed see the same drawn images, so the interval reflects which
    images the test set happened to hold, not the seeds (their spread is the Wilcoxon test's)."""
    rng = np.random.default_rng(seed)
    differences, observed = [], []
    for labels, scores_a, scores_b in pairs:
        labels, scores_a = _check(labels, scores_a)
        _, scores_b = _check(labels, scores_b)
        indices = rng.integers(0, len(labels), (n_resamples, len(labels)))
        differences.append(
            resampled_aucs(labels, scores_a, indices) - resampled_aucs(labels, scores_b, indices)
        )
        observed.append(roc_auc_score(labels, scores_a) - roc_auc_score(labels, scores_b))
    means = np.nanmean(np.asarray(differences), axis=0)
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(means, [tail, 100 - tail])
    return float(np.mean(observed)), float(low), float(high)


def evaluate(
    val_labels: np.ndarray,
    val_scores: np.ndarray,
    test_labels: np.ndarray,
    test_scores: np.ndarray,
    policy: str = "auto",
    normal_quantile: float = 0.95,
    target: str = "test",
) -> dict[str, dict[str, float | str]]:
    """Metrics on validation and on the target split (``test``), both at the threshold chosen on
    validation, plus a bootstrap interval for the target AUC."""
    threshold, used = choose_threshold(val_labels, val_scores, policy, normal_quantile)
    result: dict[str, dict[str, float | str]] = {}
    for split, labels, scores in (
        ("val", val_labels, val_scores),
        (target, test_labels, test_scores),
    ):
        metrics: dict[str, float | str] = dict(ranking_metrics(labels, scores))
        metrics.update(threshold_metrics(labels, scores, threshold))
        metrics["threshold_policy"] = used
        result[split] = metrics
    low, high = bootstrap_auc_interval(test_labels, test_scores)
    result[target]["auc_ci95"] = [low, high]  # type: ignore[assignment]
    return result


def calibration_bins(labels: np.ndarray, probabilities: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Equal-width bins of predicted anomaly probability: mean confidence, observed anomaly rate and
    count per bin, and the expected calibration error Σ (n_b / n) |rate_b − confidence_b|."""
    labels, probabilities = _check(labels, probabilities)
    if ((probabilities < 0) | (probabilities > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(which, probabilities, n_bins) / count
        accuracy = np.bincount(which, labels.astype(float), n_bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] / count.sum() * np.abs(accuracy[filled] - confidence[filled])))
    return {
        "centre": (edges[:-1] + edges[1:]) / 2,
        "count": count,
        "confidence": confidence,
        "accuracy": accuracy,
        "ece": ece,
    }


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, dtype=np.float64), -500, 500)))


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean binary cross-entropy of anomaly probabilities (clipped away from 0 and 1)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    labels = np.asarray(labels, dtype=np.float64)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def fit_temperature(labels: np.ndarray, log_odds: np.ndarray) -> float:
    """Temperature scaling (Guo et al., ICML 2017): the T > 0 minimising the log loss of
    sigmoid(log_odds / T) on these labels; NaN without both classes."""
    labels, log_odds = _check(labels, log_odds)
    if len(np.unique(labels)) < 2:
        return float("nan")
    result = minimize_scalar(
        lambda log_t: log_loss(labels, sigmoid(log_odds / np.exp(log_t))), bounds=(-5, 8), method="bounded"
    )
    return float(np.exp(result.x))
