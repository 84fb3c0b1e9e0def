"""Figures for a run: ROC curves, score histograms and the training curve. Matplotlib, no display."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

NORMAL_COLOUR, ANOMALY_COLOUR = "tab:green", "tab:red"


def _save(fig: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def plot_roc(labels: np.ndarray, scores: dict[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """One ROC curve per score, AUC in the legend."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, values in scores.items():
        fpr, tpr, _ = roc_curve(labels, values)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(labels, values):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlabel="false positive rate (1 − specificity)", ylabel="true positive rate (sensitivity)")
    ax.set_title(title or "ROC")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_score_histograms(
    labels: np.ndarray,
    scores: dict[str, np.ndarray],
    path: str | Path,
    thresholds: dict[str, float] | None = None,
) -> Path:
    """Normal (green) vs anomalous (red) score distributions, one panel per score, with the
    validation-chosen threshold as a dashed line."""
    names = list(scores)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = scores[name]
        bins = np.histogram_bin_edges(values, bins=40)
        ax.hist(
            values[labels == 0],
            bins=bins,
            alpha=0.6,
            color=NORMAL_COLOUR,
            label="normal",
            density=True,
        )
        ax.hist(
            values[labels == 1],
            bins=bins,
            alpha=0.6,
            color=ANOMALY_COLOUR,
            label="anomaly",
            density=True,
        )
        if thresholds and name in thresholds:
            ax.axvline(thresholds[name], color="black", ls="--", lw=1, label="threshold")
        ax.set(title=name, xlabel="score", ylabel="density")
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_training_curve(log_rows: list[dict[str, float]], path: str | Path) -> Path:
    """Loss terms (bits/dim, 1 − SSIM) and validation AUC per epoch."""
    epochs = [row["epoch"] for row in log_rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for key in ("nll_u_bpd", "nll_l_bpd", "val_nll_bpd"):
        if any(row.get(key) not in (None, 0.0) for row in log_rows):
            left.plot(epochs, [row[key] for row in log_rows], label=key)
    left.set(xlabel="epoch", ylabel="bits / dim", title="negative log-likelihood")
    left.legend(fontsize=8)
    right.plot(epochs, [row["val_auc"] for row in log_rows], color="black")
    right.set(xlabel="epoch", ylabel="AUC", title="validation AUC")
    return _save(fig, path)


def plot_anomaly_map(
    image: np.ndarray,
    reconstruction: np.ndarray,
    flow_map: np.ndarray,
    residual: np.ndarray,
    scale: dict[str, list[float]],
    path: str | Path,
    title: str = "",
) -> Path:
    """Input, reconstruction, and the flow and residual maps as heat maps over the input.

    ``scale`` holds fixed [low, high] colour limits per map (from validation normal images)."""

    def grey(array: np.ndarray) -> np.ndarray:
        return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)

    fig, axes = plt.subplots(1, 4, figsize=(12, 3.3))
    axes[0].imshow(grey(image), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("input")
    axes[1].imshow(grey(reconstruction), cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("reconstruction")
    for ax, name, values in ((axes[2], "flow", flow_map), (axes[3], "residual", residual)):
        ax.imshow(grey(image), cmap="gray", vmin=0, vmax=1)
        low, high = scale[name]
        heat = ax.imshow(values, cmap="inferno", alpha=0.55, vmin=low, vmax=high)
        fig.colorbar(heat, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(f"{name} map")
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def plot_auc_vs_labels(rows: list[dict], path: str | Path) -> Path:
    """Test AUC (mean ± std over seeds) against the number of labeled anomalies, one line per
    method; a label-free method is drawn as a horizontal band across the budgets."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    methods = sorted({r["method"] for r in rows})
    budgets = sorted({r["n_labels"] for r in rows if r["method"] != "ae-flow"})
    for method in methods:
        sub = [r for r in rows if r["method"] == method]
        xs = sorted({r["n_labels"] for r in sub})
        means = np.array([np.mean([r["auc"] for r in sub if r["n_labels"] == x]) for x in xs])
        stds = np.array([np.std([r["auc"] for r in sub if r["n_labels"] == x]) for x in xs])
        if len(xs) == 1 and budgets:
            ax.axhline(means[0], ls="--", label=f"{method} (no labels)", color="grey")
            ax.axhspan(means[0] - stds[0], means[0] + stds[0], color="grey", alpha=0.15)
            continue
        positions = [max(x, 0.5) for x in xs]  # log axis: draw 0 labels at 0.5
        ax.errorbar(positions, means, yerr=stds, marker="o", capsize=3, label=method)
    ax.set_xscale("log")
    ax.set(xlabel="labeled anomalies (0 drawn at 0.5)", ylabel="test AUC", title="AUC vs label budget")
    ax.legend(fontsize=8)
    return _save(fig, path)
