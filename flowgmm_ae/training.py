"""``flowgmm-ae train``: one run, start to finish, written to a run folder.

Read top to bottom: :func:`train` checks the options and sets up the device (and torchrun's
processes); :func:`run` loads the data set, cuts it by the protocol (:mod:`flowgmm_ae.protocol`),
prepares the run folder, fits a :class:`~flowgmm_ae.estimators.Detector` (the loop in
:mod:`flowgmm_ae.loop`, checkpointing into the folder), evaluates it on the test split and writes
the outputs. A killed run continues with ``resume``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from flowgmm_ae import distributed
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data import ImageDataset, SemiSupervisedSplit, load_dataset
from flowgmm_ae.data.splits import ValidationLabels
from flowgmm_ae.errors import resolve_device
from flowgmm_ae.estimators import Detector
from flowgmm_ae.evaluation import evaluate_model, split_scores, validation_scores, write_evaluation
from flowgmm_ae.io import read_json, write_json
from flowgmm_ae.loop import (
    CHECKPOINT,
    FitResult,
    TrainingError,
    aucs_with_held_out,
    flip_mode,
    local_batch_sizes,
)
from flowgmm_ae.methods import get_method
from flowgmm_ae.metrics import diagnostic_auc
from flowgmm_ae.plots import plot_training_curve
from flowgmm_ae.protocol import ProtocolSplit, apply_protocol, label_counts
from flowgmm_ae.version import __version__

__all__ = ["RunResult", "TrainConfig", "TrainingError", "train"]

SKIPPED_FILES = "skipped_files.txt"
log = logging.getLogger(__name__)


@dataclass
class RunResult:
    out_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def train(config: TrainConfig, resume: bool = False) -> RunResult:
    """Train one model as configured and write its run folder; returns the metrics.

    With ``resume`` the run folder ``config.out`` is continued from its last checkpoint (written at
    every epoch's end and every ``checkpoint_every`` steps); on the CPU the result is identical to
    an uninterrupted run. Under ``torchrun`` every process calls this; they train one
    DistributedDataParallel model and rank 0 writes the run folder."""
    config.validate()
    config = replace(config, score=config.resolved_score())
    device = resolve_device(config.device)
    owns_group = not torch.distributed.is_initialized()
    ctx = distributed.setup(device)
    try:
        local_batch_sizes(config, ctx)
        return run(config, resume, distributed.device_for(device, ctx), ctx)
    finally:
        if owns_group:
            distributed.teardown(ctx)


def run(config: TrainConfig, resume: bool, device: torch.device, ctx: distributed.DistContext) -> RunResult:
    """Data, protocol, run folder, fit, evaluation, outputs (see the module docstring)."""
    dataset = ctx.main_first(lambda: load_data(config, ctx))  # rank 0 decodes; the others read its cache
    cut = apply_protocol(dataset, config, announce=ctx.is_main)
    out_dir = ctx.main_first(lambda: prepare_run_folder(config, cut, device, ctx, resume), others_run=False)
    detector = Detector.from_config(config)
    fitted = detector.fit_data(cut.data, device, ctx, out_dir, resume)
    selection = selection_diagnostics(detector, cut, fitted, device, ctx)
    evaluation = evaluate_model(
        detector.method_,
        detector.model_,
        cut.dataset,
        score=config.score,
        policy=config.threshold_policy,
        normal_quantile=config.normal_quantile,
        beta=config.resolved_beta(),
        device=device,
        ctx=ctx,
        labeled_subtypes=config.labeled_subtypes,
    )
    metrics = evaluation.metrics
    metrics["training"] = {
        "seconds": fitted.init_seconds + sum(row["seconds"] for row in fitted.history),
        "init_seconds": fitted.init_seconds,
        "epochs": config.epochs,
        "steps": fitted.steps,
        "selected_epoch": fitted.selected_epoch,
        "skipped_steps": sum(row["skipped_steps"] for row in fitted.history),
        "processes": ctx.world_size,
        "flip_rotate": flip_mode(config, cut.data),  # "auto" as this run decided it
    }
    metrics["labels"] = label_counts(config, cut.split, cut.val_labels)
    metrics["selection"] = selection
    if ctx.is_main:
        detector.save(out_dir)  # model.safetensors and detector.json
        write_evaluation(out_dir, evaluation, metrics)  # metrics.json last: it marks a finished run
        plot_training_curve(fitted.history, out_dir / "training_curve.png")
        (out_dir / CHECKPOINT).unlink(missing_ok=True)
    ctx.barrier()  # nobody leaves while rank 0 still writes
    return RunResult(out_dir=out_dir, metrics=metrics, history=fitted.history)


def load_data(config: TrainConfig, ctx: distributed.DistContext) -> ImageDataset:
    dataset = load_dataset(
        config.dataset,
        image_size=config.image_size,
        data_root=config.data_root,
        seed=config.seed,
        fallback_to_synthetic=not config.dataset_given,
        val_frac=config.val_frac,
        group_pattern=config.group_pattern,
        strict=config.strict,
        cache_dir=config.cache_dir,
        use_cache=config.use_cache,
        progress=config.progress and ctx.is_main,
    )
    if ctx.is_main:
        for note in dataset.notes:
            log.warning(note)
    return dataset


# --- the run folder -------------------------------------------------------------------------------


def default_out_dir(config: TrainConfig, dataset_name: str | None = None) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    frac = f"n{config.n_labeled}" if config.n_labeled is not None else f"f{config.labeled_frac:g}"
    dataset = dataset_name or config.dataset
    return Path("runs") / f"{stamp}-{dataset}-{config.run_name()}-{frac}-s{config.seed}"


def prepare_out_dir(config: TrainConfig, resume: bool = False, dataset_name: str | None = None) -> Path:
    """The run folder: new (or empty), or, when resuming, the unfinished run it names."""
    out = Path(config.out) if config.out else default_out_dir(config, dataset_name)
    finished, started = (out / "metrics.json").exists(), (out / "config.json").exists()
    if resume:
        if finished:
            raise TrainingError(f"{out} holds a finished run: nothing to resume")
        if not (out / CHECKPOINT).exists():
            raise TrainingError(f"{out} has no {CHECKPOINT} to resume from; train it again elsewhere")
    elif finished:
        raise TrainingError(f"{out} already holds a finished run; choose another output folder (out)")
    elif started:
        raise TrainingError(
            f"{out} holds an unfinished run (it has config.json but no metrics.json): continue it with "
            f"'flowgmm-ae train --resume {out}' or choose another output folder (out)"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise TrainingError(f"cannot write the run folder {out}: {error.strerror or error}") from error
    return out


def prepare_run_folder(
    config: TrainConfig, cut: ProtocolSplit, device: torch.device, ctx: distributed.DistContext, resume: bool
) -> Path:
    """The run folder with config.json and splits.json (checked against the data when resuming)."""
    dataset, split, val_labels = cut.dataset, cut.split, cut.val_labels
    out = prepare_out_dir(config, resume, dataset.name)  # named after the data actually used
    if resume:
        if read_json(out / "splits.json") != splits_record(dataset, split, val_labels):
            raise TrainingError(f"the data or split differs from the one {out} was started with")
        return out
    write_json(out / "config.json", run_config(config, cut, device, ctx))
    write_json(out / "splits.json", splits_record(dataset, split, val_labels))
    if dataset.skipped:
        lines = [f"{item.path}\t{item.reason}" for item in dataset.skipped]
        header = f"# {len(lines)} file(s) of {dataset.name} skipped as unreadable\n"
        (out / SKIPPED_FILES).write_text(header + "\n".join(lines) + "\n")
    return out


def selection_diagnostics(
    detector: Detector,
    cut: ProtocolSplit,
    fitted: FitResult,
    device: torch.device,
    ctx: distributed.DistContext,
) -> dict[str, dict[str, Any]]:
    """Validation and test AUC of the selected score for each checkpoint-selection rule (the last
    epoch, the best on the run's validation, the best with every validation label).

    A record for the benchmarks that compare selection rules over seeds; nothing in the run is chosen
    from it. The model holds the selected weights again afterwards."""
    model, method, config, dataset = detector.model_, detector.method_, detector.config_, cut.dataset
    selected = {k: v.clone() for k, v in model.state_dict().items()}
    report: dict[str, dict[str, Any]] = {}
    for name, weights in fitted.candidates.items():
        if weights is None:
            continue
        model.load_state_dict(weights)
        val_scores, combiner = validation_scores(
            method, model, dataset.val, config.resolved_beta(), device, ctx
        )
        test_scores = split_scores(method, model, dataset.test.images, combiner, device, ctx)
        entry: dict[str, Any] = {
            "val_auc": diagnostic_auc(dataset.val.labels, val_scores[config.score]),
            "test_auc": diagnostic_auc(dataset.test.labels, test_scores[config.score]),
        }
        if cut.val_labels.held_out is not None:
            by_score = aucs_with_held_out(
                method, model, dataset.val, val_scores, cut.val_labels.held_out, combiner, device, ctx
            )
            entry["val_auc_all_labels"] = by_score[config.score]
            entry["val_auc_all_labels_by_score"] = by_score  # for benchmarks that compare scores
        report[name] = entry
    model.load_state_dict(selected)
    return report


def run_config(
    config: TrainConfig, cut: ProtocolSplit, device: torch.device, ctx: distributed.DistContext
) -> dict[str, Any]:
    """config.json: every option, and what the run actually used (data, device, label counts)."""
    dataset, split, val_labels = cut.dataset, cut.split, cut.val_labels
    record = asdict(config)
    record.update(
        version=__version__,
        torch_version=torch.__version__,
        device_used=str(device),
        processes=ctx.world_size,
        distributed_backend=ctx.backend,
        dataset_used=dataset.name,
        dataset_source=dataset.source,
        dataset_notes=dataset.notes,
        resolved=config.resolved_prior_defaults(),
        model=config.model_config(dataset.in_channels).to_dict(),
        optimizer=get_method(config.method).optimizer_options(config),  # as used (a method may adjust)
        n_unlabeled=len(split.unlabeled),
        n_labeled=len(split.labeled) if config.uses_labels() else 0,
        n_hidden_anomalies=len(split.hidden_anomalies),
        n_val_anomaly_labels=val_labels.n_anomalies_used,
        n_val_anomalies_available=val_labels.n_anomalies_available,
        n_labels_total=label_counts(config, split, val_labels)["total"],
        counts=dataset.summary(),
        n_skipped_files=len(dataset.skipped),
    )
    return record


def splits_record(
    dataset: ImageDataset, split: SemiSupervisedSplit, val_labels: ValidationLabels | None = None
) -> dict[str, Any]:
    used = val_labels.used_index.tolist() if val_labels is not None else list(range(len(dataset.val)))
    return {
        **split.to_dict(),
        "validation": used,
        "test": list(range(len(dataset.test))),
        "note": "unlabeled/labeled/hidden_anomalies index the train split; validation indexes the "
        "data set's own val split (the images this run could use: every normal, and the anomalies "
        "its --val-labels policy allows); test is the data set's test split, in file order",
        **(
            {"files": {name: getattr(dataset, name).names for name in ("train", "val", "test")}}
            if dataset.train.names is not None
            else {}
        ),
    }
