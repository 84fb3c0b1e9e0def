"""The training loop: mixed labeled/unlabeled batches under the joint likelihood, then evaluation.

Read top to bottom: :func:`train` loads the data and the split, builds the model, runs the epochs
(each step one unlabeled batch and one labeled batch, drawn with replacement), keeps the checkpoint
with the best validation AUC, and writes the run folder through :func:`finish_run`.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from flowgmm_ae import __version__
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data import (
    ImageDataset,
    SemiSupervisedSplit,
    load_dataset,
    make_split,
)
from flowgmm_ae.data.transforms import augment
from flowgmm_ae.errors import FlowgmmAEError, resolve_device
from flowgmm_ae.evaluation import evaluate_model, validation_scores, write_evaluation
from flowgmm_ae.io import save_weights, write_csv, write_json
from flowgmm_ae.methods import get_method
from flowgmm_ae.metrics import ranking_metrics
from flowgmm_ae.plots import plot_training_curve
from flowgmm_ae.priors import ANOMALY

log = logging.getLogger(__name__)


class TrainingError(FlowgmmAEError):
    """Training cannot go on (for example the loss keeps being non-finite); the message says why."""


@dataclass
class RunResult:
    out_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def default_out_dir(config: TrainConfig) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    frac = f"n{config.n_labeled}" if config.n_labeled is not None else f"f{config.labeled_frac:g}"
    return Path("runs") / f"{stamp}-{config.dataset}-{config.run_name()}-{frac}-s{config.seed}"


def prepare_out_dir(config: TrainConfig) -> Path:
    out = Path(config.out) if config.out else default_out_dir(config)
    if (out / "config.json").exists():
        raise TrainingError(f"{out} already holds a run; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def build_model(config: TrainConfig, in_channels: int) -> torch.nn.Module:
    """The configured method's model (for AE-FLOW, with the anomaly mean placed by the seed)."""
    return get_method(config.method).build(config, in_channels)


def train(config: TrainConfig) -> RunResult:
    """Train one model as configured and write its run folder; returns the metrics."""
    method = get_method(config.method)
    if config.score not in method.score_names or (config.score == "posterior" and not config.uses_labels()):
        raise TrainingError(f"--score {config.score} is not available for this method and prior")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)

    # --- data and the semi-supervised split --------------------------------------------------
    dataset = load_dataset(
        config.dataset,
        image_size=config.image_size,
        data_root=config.data_root,
        seed=config.seed,
        fallback_to_synthetic=not config.dataset_given,
    )
    for note in dataset.notes:
        log.warning(note)
    split = make_split(
        dataset.train.labels,
        config.labeled_frac,
        config.n_labeled,
        config.contamination,
        config.seed,
    )
    if len(split.labeled) and not config.uses_labels():
        hint = (
            "use --prior gmm to train with them"
            if config.method == "aeflow"
            else "this method ignores labels"
        )
        n_labeled = len(split.labeled)
        log.warning(
            f"{config.run_name()} is unsupervised: the {n_labeled} labeled anomalies are unused ({hint})"
        )
    out_dir = prepare_out_dir(config)
    write_json(out_dir / "config.json", run_config(config, dataset, split, device))
    write_json(out_dir / "splits.json", splits_record(dataset, split))

    unlabeled = dataset.train.images[split.unlabeled]
    labeled = dataset.train.images[split.labeled] if config.uses_labels() else unlabeled[:0]
    labeled_y = torch.full((len(labeled),), ANOMALY, dtype=torch.long)

    # --- model, data-dependent initialisation (ActNorm; Deep SAD's centre), optimiser ------------
    model = method.build(config, dataset.in_channels).to(device)
    generator = torch.Generator().manual_seed(config.seed)
    init_idx = torch.randperm(len(unlabeled), generator=generator)[:256]
    method.initialise(model, unlabeled[init_idx].to(device), config)
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad],
        lr=config.lr,
        weight_decay=config.weight_decay,
    )
    steps_per_epoch = math.ceil(len(unlabeled) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)

    # --- epochs --------------------------------------------------------------------------------
    history: list[dict[str, float]] = []
    best_auc, best_state, bad_in_a_row, skipped_total = -math.inf, None, 0, 0
    progress = tqdm(
        total=config.epochs * steps_per_epoch,
        disable=not config.progress,
        desc="train",
        unit="step",
    )
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        sums: dict[str, float] = {}
        n_done, skipped_epoch = 0, 0
        order = torch.randperm(len(unlabeled), generator=generator)
        for step in range(steps_per_epoch):
            x_u = unlabeled[order[step * config.batch_size : (step + 1) * config.batch_size]]
            if len(labeled):
                pick = torch.randint(len(labeled), (config.labeled_batch_size,), generator=generator)
                x_l, y_l = labeled[pick], labeled_y[pick]
            else:
                x_l, y_l = labeled, labeled_y
            x = torch.cat([x_u, x_l])
            if config.augment:
                x = augment(x, generator)
            x = x.to(device)
            terms = method.loss(model, x[: len(x_u)], x[len(x_u) :], y_l.to(device), config)
            if not torch.isfinite(terms.total):
                bad_in_a_row += 1
                skipped_epoch += 1
                optimizer.zero_grad(set_to_none=True)
                if bad_in_a_row >= config.max_bad_steps:
                    raise TrainingError(
                        f"the loss was not finite for {bad_in_a_row} steps in a row (epoch {epoch}); "
                        f"try a lower --lr (now {config.lr:g})"
                    )
                progress.update(1)
                continue
            bad_in_a_row = 0
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            for key, value in terms.parts.items():
                sums[key] = sums.get(key, 0.0) + value
            n_done += 1
            progress.update(1)
            progress.set_postfix({k: f"{v / n_done:.3f}" for k, v in sums.items()}, refresh=False)
        skipped_total += skipped_epoch

        val_scores, _ = validation_scores(method, model, dataset, config.beta, device)
        val_auc = ranking_metrics(dataset.val.labels, val_scores[config.score])["auc"]
        row = {"epoch": epoch, **{k: v / max(n_done, 1) for k, v in sums.items()}}
        row.update(
            val_auc=val_auc,
            val_nll_bpd=float(val_scores["flow"][dataset.val.labels == 0].mean())
            if "flow" in val_scores
            else "",
            skipped_steps=skipped_epoch,
            lr=scheduler.get_last_lr()[0],
            seconds=time.perf_counter() - started,
        )
        history.append(row)
        terms_text = "  ".join(f"{k} {v / max(n_done, 1):.3f}" for k, v in sums.items())
        progress.write(f"epoch {epoch}/{config.epochs}  {terms_text}  val AUC ({config.score}) {val_auc:.4f}")
        if not math.isnan(val_auc) and val_auc > best_auc:
            best_auc, best_state = val_auc, copy.deepcopy(model.state_dict())
        save_weights(model, out_dir / "last.safetensors")
        write_csv(out_dir / "train_log.csv", history, fieldnames=list(history[0]))
    progress.close()

    if config.select == "best" and best_state is not None:
        model.load_state_dict(best_state)
    save_weights(model, out_dir / "model.safetensors")
    evaluation = evaluate_model(
        method,
        model,
        dataset,
        score=config.score,
        policy=config.threshold_policy,
        normal_quantile=config.normal_quantile,
        beta=config.beta,
        device=device,
    )
    metrics = evaluation.metrics
    metrics["training"] = {
        "seconds": sum(row["seconds"] for row in history),
        "epochs": config.epochs,
        "selected_epoch": _selected_epoch(history, config.select),
        "skipped_steps": skipped_total,
    }
    write_evaluation(out_dir, evaluation, metrics)
    plot_training_curve(history, out_dir / "training_curve.png")
    return RunResult(out_dir=out_dir, metrics=metrics, history=history)


def _selected_epoch(log: list[dict[str, float]], select: str) -> int:
    if select == "last" or not log:
        return len(log)
    aucs = [row["val_auc"] if not math.isnan(row["val_auc"]) else -math.inf for row in log]
    return int(np.argmax(aucs)) + 1


def run_config(
    config: TrainConfig, dataset: ImageDataset, split: SemiSupervisedSplit, device: torch.device
) -> dict[str, Any]:
    record = asdict(config)
    record.update(
        version=__version__,
        torch_version=torch.__version__,
        device_used=str(device),
        dataset_used=dataset.name,
        dataset_source=dataset.source,
        dataset_notes=dataset.notes,
        model=config.model_config(dataset.in_channels).to_dict(),
        n_unlabeled=len(split.unlabeled),
        n_labeled=len(split.labeled) if config.uses_labels() else 0,
        n_hidden_anomalies=len(split.hidden_anomalies),
        counts=dataset.summary(),
    )
    return record


def splits_record(dataset: ImageDataset, split: SemiSupervisedSplit) -> dict[str, Any]:
    return {
        **split.to_dict(),
        "validation": list(range(len(dataset.val))),
        "test": list(range(len(dataset.test))),
        "note": "unlabeled/labeled/hidden_anomalies index the train split; validation and test "
        "are the data set's own val and test splits, in file order",
    }
