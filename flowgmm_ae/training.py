"""The training loop: mixed labeled/unlabeled batches under the joint likelihood, then evaluation.

Read top to bottom: :func:`train` loads the data and the split, builds the model, runs the epochs
(each step one unlabeled batch and one labeled batch, drawn with replacement), keeps the weights
with the best validation AUC, and writes the run folder. A checkpoint (model, optimiser, scheduler,
RNG states, loop position) is written at every epoch's end, so ``--resume`` continues a killed run.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from flowgmm_ae import __version__, distributed
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data import (
    ImageDataset,
    SemiSupervisedSplit,
    load_dataset,
    make_split,
)
from flowgmm_ae.data.splits import ValidationLabels, limit_validation_labels, subtype_mask
from flowgmm_ae.data.transforms import augment
from flowgmm_ae.errors import FlowgmmAEError, resolve_device
from flowgmm_ae.evaluation import evaluate_model, split_scores, validation_scores, write_evaluation
from flowgmm_ae.io import read_json, save_weights, write_csv, write_json
from flowgmm_ae.loader import BatchFeeder
from flowgmm_ae.methods import Method, get_method
from flowgmm_ae.metrics import ranking_metrics
from flowgmm_ae.plots import plot_training_curve
from flowgmm_ae.priors import ANOMALY
from flowgmm_ae.runtime import keep_freed_memory

log = logging.getLogger(__name__)


class TrainingError(FlowgmmAEError):
    """Training cannot go on (for example the loss keeps being non-finite); the message says why."""


@dataclass
class RunResult:
    out_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


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
            raise TrainingError(
                f"{out} has no {CHECKPOINT} to resume from; train it again with another --out"
            )
    elif finished:
        raise TrainingError(f"{out} already holds a finished run; choose another --out")
    elif started:
        raise TrainingError(
            f"{out} holds an unfinished run (it has config.json but no metrics.json): continue it with "
            f"'flowgmm-ae train --resume {out}' or choose another --out"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise TrainingError(f"cannot write the run folder {out}: {error.strerror or error}") from error
    return out


CHECKPOINT = "checkpoint.pt"
SKIPPED_FILES = "skipped_files.txt"


def write_skipped(path: Path, dataset: ImageDataset) -> None:
    """The unreadable files that loading skipped, one per line: path, a tab, the reason."""
    lines = [f"{item.path}\t{item.reason}" for item in dataset.skipped]
    path.write_text(
        f"# {len(lines)} file(s) of {dataset.name} skipped as unreadable\n" + "\n".join(lines) + "\n"
    )


@dataclass
class LoopState:
    """Where the loop is: everything besides model, optimiser, scheduler and RNGs that a resumed
    run needs to continue exactly where an interrupted one stopped."""

    epoch: int = 1  # the epoch in progress (1-based)
    step: int = 0  # the next step of that epoch
    order: torch.Tensor | None = None  # the epoch's shuffled unlabeled indices
    sums: dict[str, float] = field(default_factory=dict)
    n_done: int = 0
    skipped_epoch: int = 0
    skipped_total: int = 0
    bad_in_a_row: int = 0
    epoch_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_auc: float = -math.inf
    best_state: dict[str, torch.Tensor] | None = None
    # Diagnostic only (never selects anything): the epoch that validation with every anomaly label
    # would have chosen, to measure what the label budget costs.
    best_auc_all: float = -math.inf
    best_state_all: dict[str, torch.Tensor] | None = None
    init_seconds: float = 0.0


def save_checkpoint(
    path: Path,
    model,
    optimizer,
    scheduler,
    generator,
    state: LoopState,
    rank_generators: list[torch.Tensor] | None = None,
) -> None:
    """Everything needed to resume, written atomically; readable with ``torch.load(weights_only=True)``
    (tensors, numbers, strings, lists and dicts only: no pickled objects). Under DDP,
    ``rank_generators`` holds every rank's own generator state."""
    payload = {
        "rank_generators": rank_generators or [],
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "state": asdict(state),
    }
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_checkpoint(
    path: Path,
    model,
    optimizer,
    scheduler,
    generator,
    rank_generator: torch.Generator | None = None,
    ctx: distributed.DistContext = distributed.SINGLE,
) -> LoopState:
    try:
        payload = torch.load(path, weights_only=True)
    except Exception as error:  # an unpickling error names the refused global
        raise TrainingError(f"cannot resume from {path}: {error}") from error
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    generator.set_state(payload["generator"])
    torch.set_rng_state(payload["torch_rng"])
    saved = payload.get("rank_generators", [])
    if ctx.active and rank_generator is not None:
        if len(saved) == ctx.world_size:
            rank_generator.set_state(saved[ctx.rank])
        elif ctx.is_main:
            log.warning(
                f"{path} was written by {len(saved) or 1} process(es), not {ctx.world_size}: labeled "
                "draws and augmentation continue from fresh per-process seeds"
            )
    return LoopState(**payload["state"])


def train(config: TrainConfig, resume: bool = False) -> RunResult:
    """Train one model as configured and write its run folder; returns the metrics.

    With ``resume`` the run folder ``config.out`` is continued from its last checkpoint (written at
    every epoch's end and every ``checkpoint_every`` steps); on the CPU the result is identical to
    an uninterrupted run. Under ``torchrun`` every process calls this; they train one
    DistributedDataParallel model and rank 0 writes the run folder."""
    method = get_method(config.method)
    config = replace(config, score=config.resolved_score())
    # Messages name the TrainConfig field a Python caller set, and the CLI option in parentheses.
    if config.score not in method.score_names or (config.score == "posterior" and not config.uses_labels()):
        raise TrainingError(
            f"score={config.score!r} (--score) is not available for method={config.method!r} with "
            f"prior={config.prior!r} and these labels; this method gives {', '.join(method.score_names)}"
        )
    for name, value in asdict(config).items():
        if isinstance(value, float) and not math.isfinite(value):
            raise TrainingError(f"{name}={value} (--{name.replace('_', '-')}) must be a finite number")
    if config.lr <= 0:
        raise TrainingError(f"lr={config.lr} (--lr) must be positive")
    if config.class_weight > 0 and (config.method != "aeflow" or config.prior == "gaussian"):
        raise TrainingError(
            "class_weight (--class-weight) needs the mixture prior: method='aeflow', prior='gmm'"
        )
    if config.encoder != "conv" and config.method != "aeflow":
        raise TrainingError(f"encoder={config.encoder!r} (--encoder) is for method='aeflow' only")
    if (config.encoder_weights or config.finetune_encoder) and config.encoder != "wrn50":
        raise TrainingError(
            "encoder_weights and finetune_encoder (--encoder-weights, --finetune-encoder) need "
            "encoder='wrn50' (--encoder wrn50)"
        )
    try:
        config.model_config(in_channels=1).validate()
    except ValueError as error:
        raise TrainingError(f"{error} (check image_size and stride: --image-size, --stride)") from error
    device = resolve_device(config.device)
    keep_freed_memory()  # half a 128 px CPU step was page faults (flowgmm_ae/runtime.py)
    owns_group = not torch.distributed.is_initialized()
    ctx = distributed.setup(device)
    try:
        return _train(config, resume, method, distributed.device_for(device, ctx), ctx)
    finally:
        if owns_group:
            distributed.teardown(ctx)


class _StepModule(torch.nn.Module):
    """One training step's loss as a module's forward, so that DistributedDataParallel sees every
    parameter the loss uses (the prior's included) and averages their gradients over ranks."""

    def __init__(self, method: Method, model: torch.nn.Module, config: TrainConfig) -> None:
        super().__init__()
        self.method, self.model, self.config = method, model, config

    def forward(self, x_unlabeled, x_labeled, y_labeled):
        return self.method.loss(self.model, x_unlabeled, x_labeled, y_labeled, self.config)


def _local_batch_sizes(config: TrainConfig, ctx: distributed.DistContext) -> tuple[int, int]:
    """Per-process batch sizes: the global ``--batch-size`` and ``--labeled-batch-size`` split
    evenly over the processes, so a run on N processes sees the same global batch as on one."""
    for name in ("batch_size", "labeled_batch_size"):
        if getattr(config, name) % ctx.world_size:
            raise TrainingError(
                f"--{name.replace('_', '-')} {getattr(config, name)} is not divisible by the "
                f"{ctx.world_size} processes; the global batch is split evenly over them"
            )
    return config.batch_size // ctx.world_size, config.labeled_batch_size // ctx.world_size


def _train(
    config: TrainConfig, resume: bool, method: Method, device: torch.device, ctx: distributed.DistContext
) -> RunResult:
    _, local_labeled_batch = _local_batch_sizes(config, ctx)  # the feeder shares out the unlabeled batch
    torch.manual_seed(config.seed + ctx.rank)  # rank 0 as a single process; DDP copies its weights
    np.random.seed(config.seed)

    # --- data and the semi-supervised split (rank 0 decodes first; the others read its cache) ------
    dataset = ctx.main_first(
        lambda: load_dataset(
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
    )
    if ctx.is_main:
        for note in dataset.notes:
            log.warning(note)
    split = make_split(
        dataset.train.labels,
        config.labeled_frac,
        config.n_labeled,
        config.contamination,
        config.seed,
        subtypes=dataset.train.subtypes,
        labeled_subtypes=config.labeled_subtypes,
    )
    if len(split.labeled) and not config.uses_labels() and ctx.is_main:
        hint = (
            "use --prior gmm to train with them" if config.method == "aeflow" else "the method ignores labels"
        )
        log.warning(f"{config.run_name()}: the {len(split.labeled)} labeled anomalies are unused ({hint})")
    labelable = subtype_mask(dataset.train.labels, dataset.train.subtypes, config.labeled_subtypes)
    val_labels = limit_validation_labels(
        dataset.val,
        n_train_anomalies=int(labelable.sum()),
        policy=config.val_labels,
        labeled_frac=config.labeled_frac,
        n_labeled=config.n_labeled,
        seed=config.seed,
        labeled_subtypes=config.labeled_subtypes,
    )
    dataset = dataclasses.replace(dataset, val=val_labels.used)  # all that selection may see
    if ctx.is_main:
        _log_label_use(config, split, val_labels)

    def prepare() -> Path:
        out = prepare_out_dir(config, resume, dataset.name)  # named after the data actually used
        if resume:
            if read_json(out / "splits.json") != splits_record(dataset, split, val_labels):
                raise TrainingError(f"the data or split differs from the one {out} was started with")
        else:
            write_json(out / "config.json", run_config(config, dataset, split, device, ctx, val_labels))
            write_json(out / "splits.json", splits_record(dataset, split, val_labels))
            if dataset.skipped:
                write_skipped(out / SKIPPED_FILES, dataset)
        return out

    out_dir = ctx.main_first(prepare, others_run=False)

    # Images are fetched batch by batch from the split, which may be memory-mapped (large data sets).
    images = dataset.train.images
    unlabeled = torch.as_tensor(split.unlabeled, dtype=torch.long)
    labeled = torch.as_tensor(split.labeled if config.uses_labels() else [], dtype=torch.long)
    pin = device.type == "cuda"
    feeder = BatchFeeder(images, unlabeled, config.batch_size, ctx, pin, config.loader_workers)
    fetch = feeder.fetch

    # --- model, data-dependent initialisation (ActNorm; Deep SAD's centre), optimiser ------------
    # channels_last on the CPU too: alone 1.35x faster steps at 64 px; on top of the allocator
    # setting 1.17x at 128 px (benchmarks/results/cpu_speedups.md).
    model = method.build(config, dataset.in_channels).to(device, memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(config.seed)  # the same on every rank: batch order
    # Per-rank randomness (labeled draws, augmentation); a single process keeps one generator.
    rank_generator = torch.Generator().manual_seed(config.seed + 7919 * ctx.rank) if ctx.active else generator
    epochs = config.epochs
    steps_per_epoch, passes = _epoch_length(config, len(unlabeled), ctx)
    init_started = time.perf_counter()
    pretrain_steps = round(method.pretrain_fraction * epochs * steps_per_epoch)
    if pretrain_steps and not resume:  # e.g. Deep SAD's autoencoder, on the whole unlabeled set

        def draw(draws: torch.Generator) -> torch.Tensor:
            pick = torch.randint(len(unlabeled), (config.batch_size,), generator=draws)
            return fetch(unlabeled[pick]).to(device)

        method.pretrain(model, draw, pretrain_steps, config)
    init_idx = unlabeled[torch.randperm(len(unlabeled), generator=generator)[:256]]
    method.initialise(model, fetch(init_idx).to(device), config)
    init_seconds = time.perf_counter() - init_started  # counted in the run's training time
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], **method.optimizer_options(config)
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
    step_module = _StepModule(method, model, config)
    engine: torch.nn.Module = step_module
    if ctx.active:
        engine = torch.nn.parallel.DistributedDataParallel(
            step_module,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=method.leaves_parameters_unused(model, has_labels=len(labeled) > 0),
        )
    checkpoint = out_dir / CHECKPOINT
    if resume:
        state = load_checkpoint(checkpoint, model, optimizer, scheduler, generator, rank_generator, ctx)
        if ctx.is_main:
            log.info(f"resuming {out_dir} at epoch {state.epoch}, step {state.step}")
    else:
        state = LoopState(init_seconds=init_seconds)

    def save() -> None:
        rank_states = ctx.all_gather(rank_generator.get_state()) if ctx.active else None
        if ctx.is_main:
            save_checkpoint(checkpoint, model, optimizer, scheduler, generator, state, rank_states)

    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16")

    # --- epochs --------------------------------------------------------------------------------
    done_before = (state.epoch - 1) * steps_per_epoch + state.step
    progress = tqdm(
        total=epochs * steps_per_epoch,
        initial=done_before,
        disable=not (config.progress and ctx.is_main),
        unit="step",
    )
    while state.epoch <= epochs:
        started = time.perf_counter()
        model.train()
        if state.order is None:  # one shuffled pass over U, or several when --min-steps asks for it
            shuffles = [torch.randperm(len(unlabeled), generator=generator) for _ in range(passes)]
            state.order = torch.cat(shuffles)
        feeder.start_epoch(state.order)
        while state.step < steps_per_epoch:
            x_u = feeder.unlabeled_batch(state.step, steps_per_epoch)
            if len(labeled):
                pick = torch.randint(len(labeled), (local_labeled_batch,), generator=rank_generator)
                x_l = fetch(labeled[pick])
            else:
                x_l = fetch(labeled)
            y_l = torch.full((len(x_l),), ANOMALY, dtype=torch.long)
            x = torch.cat([x_u, x_l]).to(device, non_blocking=pin)
            if config.augment:  # on the device: on a GPU the CPU would otherwise be the bottleneck
                x = augment(x, rank_generator)
            x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                terms = engine(x[: len(x_u)], x[len(x_u) :], y_l.to(device))
            state.step += 1
            progress.update(1)
            finite, parts = ctx.agree_on_step(bool(torch.isfinite(terms.total)), terms.parts)
            if not finite:  # every rank skips, or none
                state.bad_in_a_row += 1
                state.skipped_epoch += 1
                if state.bad_in_a_row >= config.max_bad_steps:
                    raise TrainingError(
                        f"the loss was not finite for {state.bad_in_a_row} steps in a row (epoch "
                        f"{state.epoch}); try a lower --lr (now {config.lr:g})"
                    )
                continue
            state.bad_in_a_row = 0
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            for key, value in parts.items():
                state.sums[key] = state.sums.get(key, 0.0) + value
            state.n_done += 1
            progress.set_postfix({k: f"{v / state.n_done:.3f}" for k, v in state.sums.items()}, refresh=False)
            if config.checkpoint_every and state.step % config.checkpoint_every == 0:
                state.epoch_seconds += time.perf_counter() - started
                started = time.perf_counter()
                save()

        val_scores, combiner = validation_scores(method, model, dataset, config.beta, device, ctx)
        if not np.isfinite(val_scores[config.score]).all():
            raise TrainingError(
                f"the {config.score} score is not finite on validation images after epoch {state.epoch}: "
                f"training diverged; try a lower --lr (now {config.lr:g})"
            )
        val_auc = ranking_metrics(dataset.val.labels, val_scores[config.score])["auc"]
        normal_val = dataset.val.labels == 0
        row: dict[str, Any] = {"epoch": state.epoch}
        row.update({k: v / max(state.n_done, 1) for k, v in state.sums.items()})
        if val_labels.held_out is not None:
            val_auc_all = _aucs_with_held_out(
                method, model, dataset.val, val_scores, val_labels.held_out, combiner, device, ctx
            )[config.score]
            row["val_auc_all_labels"] = val_auc_all  # diagnostic: never used for a choice
            if not math.isnan(val_auc_all) and val_auc_all > state.best_auc_all:
                state.best_auc_all, state.best_state_all = val_auc_all, copy.deepcopy(model.state_dict())
        row.update(
            val_auc=val_auc,
            val_nll_bpd=float(val_scores["flow"][normal_val].mean()) if "flow" in val_scores else "",
            skipped_steps=state.skipped_epoch,
            lr=scheduler.get_last_lr()[0],
            seconds=state.epoch_seconds + time.perf_counter() - started,
        )
        state.history.append(row)
        terms_text = "  ".join(f"{k} {v / max(state.n_done, 1):.3f}" for k, v in state.sums.items())
        if ctx.is_main:
            progress.write(
                f"epoch {state.epoch}/{epochs}  {terms_text}  val AUC ({config.score}) {val_auc:.4f}"
            )
        if not math.isnan(val_auc) and val_auc > state.best_auc:
            state.best_auc, state.best_state = val_auc, copy.deepcopy(model.state_dict())
        state.skipped_total += state.skipped_epoch
        state.epoch, state.step, state.order = state.epoch + 1, 0, None
        state.sums, state.n_done, state.skipped_epoch, state.epoch_seconds = {}, 0, 0, 0.0
        if ctx.is_main:
            save_weights(model, out_dir / "last.safetensors")
            write_csv(out_dir / "train_log.csv", state.history, fieldnames=list(state.history[0]))
        save()
    progress.close()
    feeder.close()

    last_state = copy.deepcopy(model.state_dict())
    if config.select == "best" and state.best_state is None and ctx.is_main:
        log.warning("validation AUC was never defined (no validation anomaly labels): keeping the last epoch")
    candidates = {
        "last": last_state,
        "best_val": state.best_state,
        "best_val_all_labels": state.best_state_all,
    }
    selection = _selection_diagnostics(
        method, model, dataset, val_labels.held_out, config, candidates, device, ctx
    )
    if config.select == "best" and state.best_state is not None:
        model.load_state_dict(state.best_state)
    else:
        model.load_state_dict(last_state)
    evaluation = evaluate_model(
        method,
        model,
        dataset,
        score=config.score,
        policy=config.threshold_policy,
        normal_quantile=config.normal_quantile,
        beta=config.beta,
        device=device,
        ctx=ctx,
        labeled_subtypes=config.labeled_subtypes,
    )
    metrics = evaluation.metrics
    metrics["training"] = {
        "seconds": state.init_seconds + sum(row["seconds"] for row in state.history),
        "init_seconds": state.init_seconds,
        "epochs": epochs,
        "steps": epochs * steps_per_epoch - state.skipped_total,
        "selected_epoch": _selected_epoch(state.history, config.select),
        "skipped_steps": state.skipped_total,
        "processes": ctx.world_size,
    }
    metrics["labels"] = label_counts(config, split, val_labels)
    metrics["selection"] = selection
    if ctx.is_main:
        save_weights(model, out_dir / "model.safetensors")
        write_evaluation(out_dir, evaluation, metrics)  # metrics.json last: it marks a finished run
        plot_training_curve(state.history, out_dir / "training_curve.png")
        checkpoint.unlink(missing_ok=True)
    ctx.barrier()  # nobody leaves while rank 0 still writes
    return RunResult(out_dir=out_dir, metrics=metrics, history=state.history)


def _selected_epoch(log: list[dict[str, float]], select: str, key: str = "val_auc") -> int:
    """The epoch kept: the first with the best ``key`` (validation AUC), or the last one when
    ``select`` is ``last`` or no epoch had a defined AUC."""
    aucs = [row.get(key, math.nan) for row in log]
    aucs = [-math.inf if (not isinstance(a, float) or math.isnan(a)) else a for a in aucs]
    if select == "last" or not log or max(aucs) == -math.inf:
        return len(log)
    return int(np.argmax(aucs)) + 1


def _epoch_length(config: TrainConfig, n_unlabeled: int, ctx: distributed.DistContext) -> tuple[int, int]:
    """(steps per epoch, passes over the unlabeled set per epoch). One pass, unless ``--epochs``
    passes would give fewer than ``--min-steps`` optimiser steps: on a folder of 70 images a pass
    is two steps, and 25 of them are far too few for the flow. Then each epoch makes as many passes
    as needed, so validation and checkpoints still come ``--epochs`` times, not hundreds of times."""
    one_pass = math.ceil(n_unlabeled / config.batch_size)
    steps = max(one_pass, math.ceil(config.min_steps / config.epochs))
    passes = math.ceil(steps * config.batch_size / n_unlabeled)
    if ctx.is_main:
        longer = (
            f" ({passes} passes over the {n_unlabeled} unlabeled images per epoch, to reach "
            f"--min-steps {config.min_steps})"
        )
        log.info(
            f"training {config.epochs} epochs x {steps} steps = {config.epochs * steps} steps"
            + (longer if steps > one_pass else "")
        )
    return steps, passes


def _log_label_use(config: TrainConfig, split: SemiSupervisedSplit, val_labels: ValidationLabels) -> None:
    counts = label_counts(config, split, val_labels)
    log.info(
        f"anomaly labels used: {counts['train']} in training + {counts['validation']} of "
        f"{val_labels.n_anomalies_available} in validation (--val-labels {config.val_labels}) "
        f"= {counts['total']}"
    )
    if counts["validation"] == 0:
        log.info(
            "validation holds no anomaly labels: the last epoch is kept and thresholds are the "
            f"{config.normal_quantile:g} quantile of validation normal scores"
        )


def label_counts(
    config: TrainConfig, split: SemiSupervisedSplit, val_labels: ValidationLabels
) -> dict[str, int]:
    """Anomaly labels a run used: in training, in validation (checkpoint, threshold, β) and both."""
    train_labels = len(split.labeled) if config.uses_labels() else 0
    val_count = val_labels.n_anomalies_used
    return {"train": train_labels, "validation": val_count, "total": train_labels + val_count}


def _aucs_with_held_out(
    method: Method,
    model: torch.nn.Module,
    val: Any,
    val_scores: dict[str, np.ndarray],
    held_out: Any,
    combiner: Any,
    device: torch.device,
    ctx: distributed.DistContext,
) -> dict[str, float]:
    """Validation AUC of every score with every validation anomaly label, the budgeted-away ones
    included (diagnostic: to measure what the label budget costs, never to choose anything)."""
    held = split_scores(method, model, held_out.images, combiner, device, ctx)
    labels = np.concatenate([val.labels, held_out.labels])
    return {
        score: ranking_metrics(labels, np.concatenate([values, held[score]]))["auc"]
        for score, values in val_scores.items()
    }


def _selection_diagnostics(
    method: Method,
    model: torch.nn.Module,
    dataset: ImageDataset,
    held_out: Any,
    config: TrainConfig,
    candidates: dict[str, dict[str, torch.Tensor] | None],
    device: torch.device,
    ctx: distributed.DistContext,
) -> dict[str, dict[str, float]]:
    """Validation and test AUC of the selected score for each checkpoint-selection rule (the last
    epoch, the best on the run's validation, the best with every validation label).

    A record for the benchmarks that compare selection rules over seeds; nothing in the run is chosen
    from it. Leaves ``model`` holding the last candidate's weights: the caller loads its choice."""
    report: dict[str, dict[str, float]] = {}
    for name, weights in candidates.items():
        if weights is None:
            continue
        model.load_state_dict(weights)
        val_scores, combiner = validation_scores(method, model, dataset, config.beta, device, ctx)
        test_scores = split_scores(method, model, dataset.test.images, combiner, device, ctx)
        entry = {
            "val_auc": ranking_metrics(dataset.val.labels, val_scores[config.score])["auc"],
            "test_auc": ranking_metrics(dataset.test.labels, test_scores[config.score])["auc"],
        }
        if held_out is not None:
            by_score = _aucs_with_held_out(
                method, model, dataset.val, val_scores, held_out, combiner, device, ctx
            )
            entry["val_auc_all_labels"] = by_score[config.score]
            entry["val_auc_all_labels_by_score"] = by_score  # for benchmarks that compare scores
        report[name] = entry
    return report


def run_config(
    config: TrainConfig,
    dataset: ImageDataset,
    split: SemiSupervisedSplit,
    device: torch.device,
    ctx: distributed.DistContext = distributed.SINGLE,
    val_labels: ValidationLabels | None = None,
) -> dict[str, Any]:
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
        model=config.model_config(dataset.in_channels).to_dict(),
        optimizer=get_method(config.method).optimizer_options(config),  # as used (a method may adjust)
        n_unlabeled=len(split.unlabeled),
        n_labeled=len(split.labeled) if config.uses_labels() else 0,
        n_hidden_anomalies=len(split.hidden_anomalies),
        **(
            {
                "n_val_anomaly_labels": val_labels.n_anomalies_used,
                "n_val_anomalies_available": val_labels.n_anomalies_available,
                "n_labels_total": label_counts(config, split, val_labels)["total"],
            }
            if val_labels is not None
            else {}
        ),
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
