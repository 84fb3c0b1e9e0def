"""Test AUC against minutes per run, every method the README compares, on the three development sets.

A cost of flowgmm-ae is its time: about 2.2 minutes a run on the chest X-rays and 7 on ISIC 2018 at
its 64-channel default, against 0.3 to 1.6 for the plain CNN. This draws each method's mean test AUC
(± std over seeds) against its median minutes per run, at 5 % labels, from the committed
``results.csv`` of the grids the README's tables come from (the label-free autoencoder at 0 labels),
and on ISIC 2018 the same methods at other numbers of epochs (``benchmarks/epochs_isic2018.sh``; for
flowgmm-ae at 64 channels ``ROWS=epochs10_isic benchmarks/rows_at_defaults.sh``), so that a method
given more or less time is a line, not a point. Writes
``auc_vs_minutes.png`` and the points as ``results.csv``:

    python benchmarks/auc_vs_minutes.py [--out benchmarks/results/auc_vs_minutes]

Minutes come from runs on different days of a shared 2-core machine (each run alone on it); within
one grid they are comparable, across grids to about ± 20 %.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tables import _filtered, load_rows  # noqa: E402  (a sibling script, not a package)

RESULTS = Path(__file__).resolve().parent / "results"
FIVE_PERCENT = ["labeled_frac=0.05", "contamination=0"]
# flowgmm-ae's runs at its default 64-channel latent (the folders also hold other widths)
SIXTY_FOUR = (*FIVE_PERCENT, "latent_channels=64")


@dataclass(frozen=True)
class Source:
    """The rows of one method at one number of epochs, from one or more committed tables."""

    dataset: str
    method: str
    epochs: int
    paths: tuple[str, ...]
    where: tuple[str, ...] = field(default_factory=tuple)


def _sources() -> list[Source]:
    """Where each point comes from: the grids behind the README's tables (docs/results.md)."""
    out: list[Source] = []
    for dataset, baselines in (
        ("pneumoniamnist", "contamination_pneumoniamnist_replace"),
        ("chestxray2017", "contamination_chestxray2017_replace_rerun"),
    ):
        out += [
            Source(dataset, "flowgmm-ae", 25, (f"latent_channels_{dataset}",), SIXTY_FOUR),
            Source(dataset, "cnn", 25, (baselines,)),
            Source(dataset, "deepsad", 25, (baselines,)),
        ]
    for dataset in ("pneumoniamnist", "chestxray2017"):
        label_users = (f"label_users_{dataset}",)
        out += [Source(dataset, method, 25, label_users) for method in ("devnet", "supervised")]
    out += [
        Source("isic2018", "flowgmm-ae", 25, ("latent_channels_isic2018",), SIXTY_FOUR),
        Source("isic2018", "cnn", 25, ("flip_rotate_labeled_isic2018",)),
        Source("isic2018", "deepsad", 25, ("flip_rotate_labeled_isic2018",)),
        Source("isic2018", "devnet", 25, ("label_users_isic2018",)),
        Source("isic2018", "supervised", 25, ("label_users_isic2018",)),
        # at the default channels (64), which that grid's table does not name
        Source("isic2018", "flowgmm-ae", 10, ("epochs_isic2018_64ch",), (*FIVE_PERCENT, "epochs=10")),
        Source("isic2018", "cnn", 10, ("epochs_isic2018",)),
        Source("isic2018", "deepsad", 10, ("epochs_isic2018",)),
        Source("isic2018", "cnn", 50, ("epochs_isic2018_cnn50",)),
    ]
    for dataset in ("pneumoniamnist", "chestxray2017", "isic2018"):
        out.append(
            Source(
                dataset,
                "ae",
                25,
                (f"encoder_objective_{dataset}", f"pretraining_unsupervised_{dataset}_s34"),
                ("labeled_frac=0",),
            )
        )
    return out


def point(source: Source, results: Path) -> dict[str, Any] | None:
    """Mean ± std test AUC and median minutes of a source's runs; None where its tables are missing."""
    paths = [results / p for p in source.paths]
    if not all((p / "results.csv").is_file() for p in paths):
        return None
    where = list(source.where) or FIVE_PERCENT
    rows = _filtered(load_rows(str(p / "results.csv") for p in paths), [f"method={source.method}", *where])
    if not rows:
        return None
    if len({r["seed"] for r in rows}) != len(rows):  # two settings of one method would be averaged
        sys.exit(f"{source}: more than one run per seed; narrow its filter")
    auc = np.array([r["auc"] for r in rows], dtype=float)
    minutes = np.array([r["minutes"] for r in rows], dtype=float)
    return {
        "dataset": source.dataset,
        "method": source.method,
        "epochs": source.epochs,
        "seeds": len(rows),
        "auc_mean": round(float(auc.mean()), 4),
        "auc_std": round(float(auc.std(ddof=1)) if len(auc) > 1 else 0.0, 4),
        "minutes_median": round(float(np.median(minutes)), 2),
        "source": "+".join(source.paths),
    }


TITLES = {"pneumoniamnist": "PneumoniaMNIST", "chestxray2017": "ChestXRay2017", "isic2018": "ISIC 2018"}
STYLE = {
    "flowgmm-ae": ("C0", "o"),
    "cnn": ("C1", "s"),
    "deepsad": ("C2", "^"),
    "devnet": ("C4", "v"),
    "supervised": ("C5", "D"),
    "ae": ("C7", "x"),
}


def _label(method: str) -> str:
    return "ae (no labels)" if method == "ae" else method


def draw(points: list[dict[str, Any]], path: Path, span: float = 0.066) -> None:
    """One panel per data set, the top ``span`` of AUC; a method's points at several epochs joined
    by a line and labeled; a method below the panel is named, with its AUC, at the bottom edge."""
    figure = Figure(figsize=(14, 4.2), layout="constrained")
    axes = figure.subplots(1, 3)
    for ax, dataset in zip(axes, TITLES, strict=True):
        mine = [p for p in points if p["dataset"] == dataset]
        if not mine:
            continue
        top = max(p["auc_mean"] + p["auc_std"] for p in mine) + 0.004
        floor = top - span
        below = 0  # methods below the panel, named one above the other
        for method, (colour, marker) in STYLE.items():
            own = sorted((p for p in mine if p["method"] == method), key=lambda p: p["minutes_median"])
            if not own:
                continue
            label = _label(method)
            shown = [p for p in own if p["auc_mean"] >= floor]
            if shown:
                ax.errorbar(
                    [p["minutes_median"] for p in shown],
                    [p["auc_mean"] for p in shown],
                    yerr=[p["auc_std"] for p in shown],
                    color=colour,
                    marker=marker,
                    label=label,
                    linestyle="-" if len(shown) > 1 else "none",
                    capsize=3,
                )
            for p in own:
                if p["auc_mean"] < floor:  # far below the others: named at the bottom edge
                    below += 1
                    ax.annotate(
                        f"{label} {p['auc_mean']:.3f} (below)",
                        (p["minutes_median"], floor),
                        xytext=(6, 12 * below),
                        textcoords="offset points",
                        fontsize=7,
                        color=colour,
                        arrowprops={"arrowstyle": "->", "color": colour},
                    )
                elif len(shown) > 1:
                    ax.annotate(
                        f"{p['epochs']} ep",
                        (p["minutes_median"], p["auc_mean"]),
                        textcoords="offset points",
                        xytext=(5, -11),
                        fontsize=7,
                        color=colour,
                    )
        ax.set_xlim(0, max(p["minutes_median"] for p in mine) * 1.15)
        ax.set_ylim(floor, top)
        ax.set_title(TITLES[dataset])
        ax.set_xlabel("minutes per run (median, 2 CPU cores)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test AUC (mean ± std over seeds)")
    handles = [
        Line2D([], [], color=colour, marker=marker, linestyle="none", label=_label(method))
        for method, (colour, marker) in STYLE.items()
    ]
    figure.legend(handles=handles, loc="outside right center", fontsize=8)
    figure.suptitle("5 % of the training anomalies labeled (the autoencoder: none); 25 epochs unless marked")
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "auc_vs_minutes")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Folder of the grids' tables.")
    args = parser.parse_args()
    points: list[dict[str, Any]] = []
    missing: list[Source] = []
    for source in _sources():
        found = point(source, args.results)
        if found:
            points.append(found)
        else:
            missing.append(source)
    if not points:
        sys.exit(f"no results found under {args.results}")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(points[0]))
        writer.writeheader()
        writer.writerows(points)
    draw(points, args.out / "auc_vs_minutes.png")
    for source in missing:
        what = f"{source.dataset} {source.method} {source.epochs} epochs"
        print(f"skipped (no table yet): {what}", file=sys.stderr)
    print(f"wrote {args.out / 'auc_vs_minutes.png'} and results.csv ({len(points)} points)")


if __name__ == "__main__":
    main()
