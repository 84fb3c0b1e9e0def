"""Figures for a run: ROC curves, score histograms and the training curve.

Drawn with matplotlib's object API (a :class:`~matplotlib.figure.Figure` saved through its own Agg
canvas), never through pyplot: importing this module or drawing a figure leaves the caller's
backend (a notebook's inline one, say) and pyplot's list of open figures as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

NORMAL_COLOUR, ANOMALY_COLOUR = "tab:green", "tab:red"


def subplots(nrows: int = 1, ncols: int = 1, **options: Any) -> tuple[Figure, Any]:
    """``pyplot.subplots`` without pyplot: a figure on its own Agg canvas and its axes
    (``figsize`` and the other keywords as for :class:`~matplotlib.figure.Figure`, ``squeeze`` as
    for ``Figure.subplots``)."""
    squeeze = options.pop("squeeze", True)
    fig = Figure(**options)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    tmp.replace(path)
    return path


def plot_roc(labels: np.ndarray, scores: dict[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """One ROC curve per score, AUC in the legend."""
    fig, ax = subplots(figsize=(4.5, 4.5))
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
    fig, axes = subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
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
    """Every loss term logged (NLLs in bits/dim) and the validation AUC, per epoch."""
    epochs = [row["epoch"] for row in log_rows]
    fig, (left, right) = subplots(1, 2, figsize=(9, 3.2))
    not_terms = {"epoch", "val_auc", "skipped_steps", "lr", "seconds"}
    for key in (k for k in log_rows[0] if k not in not_terms):
        values = [row[key] for row in log_rows]
        if all(isinstance(v, int | float) for v in values) and any(values):
            left.plot(epochs, values, label=key)
    left.set(xlabel="epoch", ylabel="value (NLL in bits/dim)", title="training loss terms")
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

    fig, axes = subplots(1, 4, figsize=(12, 3.3))
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
    fig, ax = subplots(figsize=(5.5, 4))
    methods = sorted({r["method"] for r in rows})
    budgets = sorted({r["n_labels"] for r in rows if r["n_labels"]})
    band_colours = iter(["grey", "tab:brown", "tab:olive", "tab:cyan"])
    for method in methods:
        sub = [r for r in rows if r["method"] == method]
        xs = sorted({r["n_labels"] for r in sub})
        means = np.array([np.mean([r["auc"] for r in sub if r["n_labels"] == x]) for x in xs])
        stds = np.array([np.std([r["auc"] for r in sub if r["n_labels"] == x]) for x in xs])
        if xs == [0] and budgets:
            colour = next(band_colours)
            ax.axhline(means[0], ls="--", label=f"{method} (no labels)", color=colour)
            ax.axhspan(means[0] - stds[0], means[0] + stds[0], color=colour, alpha=0.15)
            continue
        positions = [max(x, 0.5) for x in xs]  # log axis: draw 0 labels at 0.5
        ax.errorbar(positions, means, yerr=stds, marker="o", capsize=3, label=method)
    ax.set_xscale("log")
    ax.set(xlabel="labeled anomalies (0 drawn at 0.5)", ylabel="test AUC", title="AUC vs label budget")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_mixture_components(
    means: np.ndarray,
    log_scales: np.ndarray,
    weights: np.ndarray,
    initial_means: np.ndarray,
    initial_log_scales: np.ndarray,
    path: str | Path,
) -> Path:
    """The learned mixture next to its initial state: per-dimension mean offsets from the normal
    mean, per-dimension scales of each component, and the mixture weights."""
    fig, axes = subplots(1, 3, figsize=(13, 3.4))
    dims = np.arange(means.shape[1])
    for k, colour in ((0, NORMAL_COLOUR), (1, ANOMALY_COLOUR)):
        if k >= len(means):
            continue
        axes[0].plot(
            dims,
            means[k] - means[0] if k else means[0],
            color=colour,
            lw=0.8,
            label=f"{'μ₁ − μ₀' if k else 'μ₀'} learned",
        )
        axes[0].plot(
            dims,
            initial_means[k] - initial_means[0] if k else initial_means[0],
            color=colour,
            lw=0.6,
            ls=":",
            label=f"{'μ₁ − μ₀' if k else 'μ₀'} initial",
        )
        axes[1].hist(
            np.exp(log_scales[k]),
            bins=40,
            alpha=0.6,
            color=colour,
            label=f"σ_{k} learned (init {np.exp(initial_log_scales[k]).mean():.2f})",
        )
    distance = np.linalg.norm(means[1] - means[0]) if len(means) > 1 else 0.0
    start = np.linalg.norm(initial_means[1] - initial_means[0]) if len(means) > 1 else 0.0
    axes[0].set(
        xlabel="latent dimension",
        ylabel="value",
        title=f"means: ‖μ₁ − μ₀‖ = {distance:.1f} (initial {start:.1f})",
    )
    axes[1].set(xlabel="per-dimension scale σ", ylabel="dimensions", title="component scales")
    axes[2].bar(
        ["normal", "anomaly"][: len(weights)], weights, color=[NORMAL_COLOUR, ANOMALY_COLOUR][: len(weights)]
    )
    axes[2].set(ylim=(0, 1), title="mixture weights π")
    for ax in axes[:2]:
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_latent_projection(
    latents: np.ndarray,
    labels: np.ndarray,
    means: np.ndarray,
    path: str | Path,
    highlight: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Two 2-D views of flow outputs z': PCA, and the axis through the two component means
    (x) against the first principal direction orthogonal to it (y). Means are marked."""
    from sklearn.decomposition import PCA

    centred_mean = latents.mean(0)
    pca = PCA(n_components=2).fit(latents)
    views = [("PCA", pca.components_)]
    if len(means) > 1:
        axis = (means[1] - means[0]) / max(np.linalg.norm(means[1] - means[0]), 1e-12)
        residual = latents - np.outer((latents - centred_mean) @ axis, axis)
        second = PCA(n_components=1).fit(residual).components_[0]
        second -= (second @ axis) * axis
        views.append(("mean-difference axis", np.stack([axis, second / max(np.linalg.norm(second), 1e-12)])))
    fig, axes = subplots(1, len(views), figsize=(5 * len(views), 4.2), squeeze=False)
    for ax, (name, basis) in zip(axes[0], views, strict=True):
        points = (latents - centred_mean) @ basis.T
        marks = (means - centred_mean) @ basis.T
        for label, colour, text in ((0, NORMAL_COLOUR, "normal"), (1, ANOMALY_COLOUR, "anomaly")):
            chosen = labels == label
            ax.scatter(points[chosen, 0], points[chosen, 1], s=5, alpha=0.4, color=colour, label=text)
        if highlight is not None and highlight.any():
            ax.scatter(
                points[highlight, 0],
                points[highlight, 1],
                s=18,
                facecolors="none",
                edgecolors="black",
                lw=0.6,
                label="labeled anomaly",
            )
        for k, mark in enumerate(marks):
            ax.scatter(
                *mark,
                marker="X",
                s=120,
                color=[NORMAL_COLOUR, ANOMALY_COLOUR][k % 2],
                edgecolors="black",
                label=f"μ_{k}",
            )
        ax.set(title=f"{title} — {name}" if title else name)
        ax.legend(fontsize=7, markerscale=1.5)
    return _save(fig, path)


def plot_reliability(
    labels: np.ndarray, probabilities: np.ndarray, path: str | Path, n_bins: int = 10
) -> Path:
    """Reliability diagram of the anomaly posterior, with its expected calibration error."""
    from flowgmm_ae.metrics import calibration_bins

    bins = calibration_bins(labels, probabilities, n_bins)
    fig, ax = subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8, label="perfect calibration")
    filled = bins["count"] > 0
    ax.plot(bins["confidence"][filled], bins["accuracy"][filled], marker="o", label="posterior")
    ax.bar(
        bins["centre"],
        bins["count"] / bins["count"].sum(),
        width=1 / n_bins,
        alpha=0.2,
        color="tab:blue",
        label="fraction of images",
    )
    ax.set(
        xlabel="predicted p(anomaly)",
        ylabel="observed anomaly rate",
        title=f"reliability (ECE {bins['ece']:.3f})",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)
