"""Evaluating a trained model: scores on validation and a target split, thresholds chosen on
validation, and the run-folder files that record them.

Used at the end of training and by ``flowgmm-ae evaluate``, so both give identical numbers.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from flowgmm_ae.data import ImageDataset, Split
from flowgmm_ae.distributed import SINGLE, DistContext, gathered_scores
from flowgmm_ae.errors import FlowgmmAEError, resolve_device
from flowgmm_ae.io import write_csv, write_json
from flowgmm_ae.methods import Method, get_method
from flowgmm_ae.metrics import evaluate, subtype_metrics
from flowgmm_ae.plots import plot_roc, plot_score_histograms
from flowgmm_ae.runs import load_model, load_run_dataset, train_config_from_record
from flowgmm_ae.scoring import ScoreCombiner


def validation_scores(
    method: Method,
    model: torch.nn.Module,
    val: Split,
    beta: float | str,
    device: torch.device | str,
    ctx: DistContext = SINGLE,
) -> tuple[dict[str, np.ndarray], ScoreCombiner | None]:
    """Every score on the validation images ``val``, and (for methods with flow and recon scores)
    the combiner fitted on its normal images. Under DDP the ranks share the images out."""
    scores = gathered_scores(lambda images: method.raw_scores(model, images, device), val.images, ctx)
    if not {"flow", "recon"} <= set(scores):
        return scores, None
    normal = val.labels == 0
    combiner = ScoreCombiner.fit(
        {k: v[normal] for k, v in scores.items()}, beta=beta, labels=val.labels, scores=scores
    )
    return combiner.add_combined(scores), combiner


def split_scores(
    method: Method,
    model: torch.nn.Module,
    images: torch.Tensor,
    combiner: ScoreCombiner | None,
    device: torch.device | str,
    ctx: DistContext = SINGLE,
) -> dict[str, np.ndarray]:
    """Every score of ``images``, with the combined one from a combiner fitted on validation."""
    scores = gathered_scores(lambda batch: method.raw_scores(model, batch, device), images, ctx)
    return combiner.add_combined(scores) if combiner is not None else scores


@dataclass
class Evaluation:
    """Metrics (layout of metrics.json) and the scores behind them."""

    metrics: dict[str, Any]
    val_scores: dict[str, np.ndarray]
    val_labels: np.ndarray
    target_scores: dict[str, np.ndarray]
    target_labels: np.ndarray
    target: str
    val_files: dict[str, list[str]] | None = None  # "file" and "subtype" columns, when known
    target_files: dict[str, list[str]] | None = None


def evaluate_model(
    method: Method,
    model: torch.nn.Module,
    reference: ImageDataset,
    target_split: Split | None = None,
    target: str = "test",
    score: str = "combined",
    policy: str = "auto",
    normal_quantile: float = 0.95,
    beta: float | str = 0.9,
    device: torch.device | str = "cpu",
    ctx: DistContext = SINGLE,
    labeled_subtypes: list[str] | None = None,
) -> Evaluation:
    """Score ``reference``'s validation split (thresholds, standardisation) and ``target_split``
    (default: ``reference``'s test split), and compute the metrics of every available score; with
    anomaly subtypes, also the selected score's AUC per subtype (seen and unseen ones apart when
    the run labeled only ``labeled_subtypes``)."""
    target_split = target_split if target_split is not None else getattr(reference, target)
    val_scores, combiner = validation_scores(method, model, reference.val, beta, device, ctx)
    target_scores = split_scores(method, model, target_split.images, combiner, device, ctx)
    names = [name for name in method.score_names if name in target_scores]
    for split, scores in (("validation", val_scores), (target, target_scores)):
        broken = [name for name in names if not np.isfinite(scores[name]).all()]
        if broken:
            raise FlowgmmAEError(
                f"the model gives non-finite {', '.join(broken)} scores on {split} images: training "
                "diverged; train again with a lower --lr"
            )
    if score not in names:
        raise ValueError(f"score {score!r} is not available for this model; choose from {names}")
    per_score = {
        name: evaluate(
            reference.val.labels,
            val_scores[name],
            target_split.labels,
            target_scores[name],
            policy=policy,
            normal_quantile=normal_quantile,
            target=target,
        )
        for name in names
    }
    normal_val = reference.val.images[reference.val.labels == 0]
    metrics = {
        "score": score,
        "target": target,
        "val": per_score[score]["val"],
        target: per_score[score][target],
        "scores": per_score,
        "combiner": asdict(combiner) if combiner is not None else None,
        "map_scale": method.map_scale(model, normal_val, device),
    }
    if target_split.subtypes is not None:
        metrics["subtypes"] = subtype_metrics(
            target_split.labels, target_scores[score], target_split.subtypes, labeled_subtypes
        )
    return Evaluation(
        metrics=metrics,
        val_scores={n: val_scores[n] for n in names},
        val_labels=reference.val.labels,
        target_scores={n: target_scores[n] for n in names},
        target_labels=target_split.labels,
        target=target,
        val_files=_file_columns(reference.val),
        target_files=_file_columns(target_split),
    )


WEIGHTS = {"selected": "model.safetensors", "last": "last.safetensors"}


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    dataset: str | None = None,
    data_root: str | None = None,
    score: str | None = None,
    policy: str | None = None,
    normal_quantile: float | None = None,
    device: str = "cpu",
    weights: str = "selected",
) -> Evaluation:
    """Reload a finished run and recompute its metrics on ``split`` of its own data (or of another
    ``dataset``), with thresholds from the validation images the run could use. ``weights`` is the
    run's ``selected`` checkpoint or its ``last`` epoch; unset options are the run's own."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    model, config = load_model(run_dir, WEIGHTS[weights])
    torch_device = resolve_device(device)
    model.to(torch_device)
    reference = load_run_dataset(config, run_dir=run_dir)
    target = load_run_dataset(config, dataset, data_root) if dataset else reference
    return evaluate_model(
        get_method(config.get("method", "aeflow")),
        model,
        reference,
        target_split=getattr(target, split),
        target=split,
        score=score or config["score"],
        policy=policy or config["threshold_policy"],
        normal_quantile=normal_quantile if normal_quantile is not None else config["normal_quantile"],
        beta=train_config_from_record(config).resolved_beta(),
        device=torch_device,
        labeled_subtypes=config.get("labeled_subtypes"),
    )


def _file_columns(split: Split) -> dict[str, list[str]] | None:
    """Which file and which anomaly subtype each row is, for data sets made of files."""
    columns = {"file": split.names, "subtype": split.subtypes}
    return {k: v for k, v in columns.items() if v is not None} or None


def _score_rows(
    labels: np.ndarray, scores: dict[str, np.ndarray], files: dict[str, list[str]] | None
) -> list[dict[str, Any]]:
    files = files or {}
    return [
        {
            "index": i,
            "label": int(label),
            **{column: values[i] for column, values in files.items()},
            **{n: float(v[i]) for n, v in scores.items()},
        }
        for i, label in enumerate(labels)
    ]


SCORE_TABLE_INFO_COLUMNS = ("index", "label", "file", "subtype")


@dataclass
class ScoreTable:
    """A run's ``scores.csv`` or ``val_scores.csv``: labels, every score, and the image files and
    anomaly subtypes when the data set has them (file-based data sets)."""

    labels: np.ndarray
    scores: dict[str, np.ndarray]
    files: list[str] | None = None
    subtypes: list[str] | None = None


def read_score_table(path: str | Path) -> ScoreTable:
    """Read a score file written by a run. Its columns are ``index``, ``label``, optionally
    ``file`` and ``subtype``, then one column per score; this is the one place that knows that."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise FlowgmmAEError(f"{path} holds no scores")
    names = [n for n in rows[0] if n not in SCORE_TABLE_INFO_COLUMNS]
    return ScoreTable(
        labels=np.array([int(r["label"]) for r in rows]),
        scores={n: np.array([float(r[n]) for r in rows]) for n in names},
        files=[r["file"] for r in rows] if "file" in rows[0] else None,
        subtypes=[r["subtype"] for r in rows] if "subtype" in rows[0] else None,
    )


def write_evaluation(out_dir: Path, evaluation: Evaluation, metrics: dict[str, Any] | None = None) -> None:
    """Write ``metrics.json``, ``scores.csv`` (target split), ``val_scores.csv``, ``roc.png`` and
    ``score_hist.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(evaluation.target_scores)
    for file_name, labels, scores, files in (
        ("scores.csv", evaluation.target_labels, evaluation.target_scores, evaluation.target_files),
        ("val_scores.csv", evaluation.val_labels, evaluation.val_scores, evaluation.val_files),
    ):
        fields = ["index", "label", *(files or {}), *names]
        write_csv(out_dir / file_name, _score_rows(labels, scores, files), fields)
    per_score = evaluation.metrics["scores"]
    plot_roc(
        evaluation.target_labels, evaluation.target_scores, out_dir / "roc.png", f"{evaluation.target} ROC"
    )
    plot_score_histograms(
        evaluation.target_labels,
        evaluation.target_scores,
        out_dir / "score_hist.png",
        thresholds={n: per_score[n][evaluation.target]["threshold"] for n in names},
    )
    # Last: a run folder with metrics.json is a finished one.
    write_json(out_dir / "metrics.json", metrics if metrics is not None else evaluation.metrics)
