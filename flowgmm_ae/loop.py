"""The training loop, in small steps: mixed labeled/unlabeled batches under a method's loss.

Read top to bottom: :func:`fit` starts a :class:`Session` (seeds a fork of torch's global
generator, so the caller's random state is untouched; builds the model, data-dependent
initialisation, optimiser, optional resume), runs :func:`run_epoch` and :func:`end_epoch`
(validation, history, checkpoint) for every epoch, and returns the weights each selection rule
would keep. Each step (:func:`train_step`, shared with ``benchmarks/throughput.py``) draws one
unlabeled batch in the epoch's shuffled order and one labeled batch of anomalies with replacement.
A checkpoint (model, optimiser, scheduler, RNG states, loop position) is written at every epoch's
end, so a killed run continues where it stopped. The loop knows no data set, no run folder layout
beyond its checkpoint files, and no test split: :mod:`flowgmm_ae.training` and
:mod:`flowgmm_ae.estimators` build on it.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from flowgmm_ae import distributed
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data import Split
from flowgmm_ae.data.base import ImageArray
from flowgmm_ae.data.transforms import augment, flip_rotate, resolve_flip_rotate
from flowgmm_ae.errors import FlowgmmAEError
from flowgmm_ae.evaluation import split_scores, validation_scores
from flowgmm_ae.io import save_weights, write_csv
from flowgmm_ae.loader import BatchFeeder
from flowgmm_ae.methods import Method, StepLoss
from flowgmm_ae.metrics import diagnostic_auc, ranking_metrics
from flowgmm_ae.priors import ANOMALY

log = logging.getLogger("flowgmm_ae.training")

CHECKPOINT = "checkpoint.pt"
# For tests of resuming: ``FLOWGMM_AE_CRASH_AFTER_STEP=N`` makes the process exit at once, without
# any cleanup, right after its N-th optimiser step (and that step's checkpoint, if one is due), so
# a test interrupts a run at a known point instead of racing it with a timer.
CRASH_AFTER_STEP = "FLOWGMM_AE_CRASH_AFTER_STEP"
CRASH_EXIT_CODE = 75


class TrainingError(FlowgmmAEError):
    """Training cannot go on (for example the loss keeps being non-finite); the message says why
    and ``fields`` names the TrainConfig fields to change (the command line adds their options)."""

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass
class TrainingData:
    """What the loop trains on: ``images`` (N, C, H, W) in [0, 1], the positions of the unlabeled
    images and of the labeled anomalies in it, the validation images selection may see, and
    (diagnostics only) the validation anomalies the label budget kept back."""

    images: torch.Tensor | ImageArray
    unlabeled: torch.Tensor
    labeled: torch.Tensor
    val: Split
    held_out: Split | None = None

    @property
    def in_channels(self) -> int:
        return int(self.images.shape[1])


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


@dataclass
class Session:
    """Everything one training run holds while the loop runs."""

    method: Method
    config: TrainConfig
    data: TrainingData
    device: torch.device
    ctx: distributed.DistContext
    model: torch.nn.Module
    engine: torch.nn.Module  # the step as a module (DDP-wrapped under torchrun)
    optimizer: torch.optim.Optimizer
    scheduler: Any
    feeder: BatchFeeder
    generator: torch.Generator  # batch order: the same on every rank
    rank_generator: torch.Generator  # labeled draws and augmentation: per rank
    steps_per_epoch: int
    passes: int
    labeled_batch: int  # this process's share of the labeled batch
    state: LoopState
    run_dir: Path | None = None
    crash_after: int | None = None  # $FLOWGMM_AE_CRASH_AFTER_STEP: a simulated crash, for tests
    flip_mode: str = "none"  # config.flip_rotate with "auto" resolved from the unlabeled images

    @property
    def labeled(self) -> torch.Tensor:
        return self.data.labeled


@dataclass
class FitResult:
    """A finished loop: the model (holding the weights ``config.select`` keeps), the history and
    the weights each selection rule would keep (for diagnostics)."""

    model: torch.nn.Module
    history: list[dict[str, Any]]
    candidates: dict[str, dict[str, torch.Tensor] | None]
    steps: int
    selected_epoch: int
    init_seconds: float


def fit(
    method: Method,
    config: TrainConfig,
    data: TrainingData,
    device: torch.device,
    ctx: distributed.DistContext = distributed.SINGLE,
    run_dir: Path | None = None,
    resume: bool = False,
) -> FitResult:
    """Train ``method`` on ``data`` as ``config`` says. With ``run_dir`` a checkpoint, the last
    epoch's weights and train_log.csv are kept there at every epoch's end (``resume`` continues
    from that checkpoint; on the CPU the result is identical to an uninterrupted run)."""
    # The loop seeds torch's global generator (weight initialisation, dropout and latent noise draw
    # from it) on a fork of it: the caller's random streams are as they were once fit returns.
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        session = start_session(method, config, data, device, ctx, run_dir, resume)
        done_before = (session.state.epoch - 1) * session.steps_per_epoch + session.state.step
        progress = tqdm(
            total=config.epochs * session.steps_per_epoch,
            initial=done_before,
            # None: tqdm shows the bar on a terminal only, so a log holds no carriage-return refreshes.
            disable=None if config.progress and ctx.is_main else True,
            unit="step",
        )
        while session.state.epoch <= config.epochs:
            run_epoch(session, progress)
            end_epoch(session)
        progress.close()
        session.feeder.close()
        return finish(session)


def local_batch_sizes(config: TrainConfig, ctx: distributed.DistContext) -> tuple[int, int]:
    """Per-process batch sizes: the global ``batch_size`` and ``labeled_batch_size`` split evenly
    over the processes, so a run on N processes sees the same global batch as on one."""
    for name in ("batch_size", "labeled_batch_size"):
        if getattr(config, name) % ctx.world_size:
            raise TrainingError(
                f"{name}={getattr(config, name)} is not divisible by the {ctx.world_size} processes; "
                "the global batch is split evenly over them"
            )
    return config.batch_size // ctx.world_size, config.labeled_batch_size // ctx.world_size


def start_session(
    method: Method,
    config: TrainConfig,
    data: TrainingData,
    device: torch.device,
    ctx: distributed.DistContext,
    run_dir: Path | None,
    resume: bool,
) -> Session:
    """Seeds, model, data-dependent initialisation, optimiser and schedule; the saved loop state
    when resuming."""
    _, labeled_batch = local_batch_sizes(config, ctx)  # the feeder shares out the unlabeled batch
    torch.manual_seed(config.seed + ctx.rank)  # rank 0 as a single process; DDP copies its weights
    pin = device.type == "cuda"
    feeder = BatchFeeder(data.images, data.unlabeled, config.batch_size, ctx, pin, config.loader_workers)
    # channels_last on the CPU too: alone 1.35x faster steps at 64 px; on top of the allocator
    # setting 1.17x at 128 px (benchmarks/results/cpu_speedups.md).
    model = method.build(config, data.in_channels).to(device, memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(config.seed)
    rank_generator = torch.Generator().manual_seed(config.seed + 7919 * ctx.rank) if ctx.active else generator
    steps_per_epoch, passes = epoch_length(config, len(data.unlabeled), ctx)
    init_seconds = initialise(
        method, model, config, data, feeder, generator, device, steps_per_epoch, resume, ctx.is_main
    )
    optimizer, scheduler = method.make_optimizer(model, config, config.epochs * steps_per_epoch)
    engine: torch.nn.Module = StepModule(method, model, config)
    if ctx.active:
        engine = torch.nn.parallel.DistributedDataParallel(
            engine,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=method.leaves_parameters_unused(model, has_labels=len(data.labeled) > 0),
        )
    state = LoopState(init_seconds=init_seconds)
    if resume:
        assert run_dir is not None, "resuming needs the run folder"
        state = load_checkpoint(
            run_dir / CHECKPOINT, model, optimizer, scheduler, generator, rank_generator, ctx
        )
        if ctx.is_main:
            log.info(f"resuming {run_dir} at epoch {state.epoch}, step {state.step}")
    crash_after = int(os.environ[CRASH_AFTER_STEP]) if os.environ.get(CRASH_AFTER_STEP) else None
    return Session(
        method, config, data, device, ctx, model, engine, optimizer, scheduler, feeder,
        generator, rank_generator, steps_per_epoch, passes, labeled_batch, state, run_dir, crash_after,
        flip_mode=flip_mode(config, data),
    )  # fmt: skip


def flip_mode(config: TrainConfig, data: TrainingData) -> str:
    """The flips the run applies: ``config.flip_rotate``, "auto" decided on (at most 2,000 of) the
    unlabeled images."""
    if config.flip_rotate != "auto":
        return config.flip_rotate
    return resolve_flip_rotate("auto", data.images[data.unlabeled[:2000]])


def initialise(
    method: Method,
    model: torch.nn.Module,
    config: TrainConfig,
    data: TrainingData,
    feeder: BatchFeeder,
    generator: torch.Generator,
    device: torch.device,
    steps_per_epoch: int,
    resume: bool,
    announce: bool = True,
) -> float:
    """The method's pretraining (if any, on the whole unlabeled set; said in the log when
    ``announce``) and data-dependent initialisation from 256 unlabeled images; returns the seconds
    spent (counted as training)."""
    started = time.perf_counter()
    pretrain_steps = round(method.pretrain_share(config) * config.epochs * steps_per_epoch)
    if pretrain_steps and not resume:  # e.g. Deep SAD's autoencoder, AE-FLOW's --pretrain-fraction

        def draw(draws: torch.Generator) -> torch.Tensor:
            pick = torch.randint(len(data.unlabeled), (config.batch_size,), generator=draws)
            return feeder.fetch(data.unlabeled[pick]).to(device)

        if announce:
            log.info(f"pretraining: {pretrain_steps} steps before the run's first step")
        method.pretrain(model, draw, pretrain_steps, config)
    init_idx = data.unlabeled[torch.randperm(len(data.unlabeled), generator=generator)[:256]]
    method.initialise(model, feeder.fetch(init_idx).to(device), config)
    return time.perf_counter() - started


class StepModule(torch.nn.Module):
    """One training step's loss as a module's forward, so that DistributedDataParallel sees every
    parameter the loss uses (the prior's included) and averages their gradients over ranks."""

    def __init__(self, method: Method, model: torch.nn.Module, config: TrainConfig) -> None:
        super().__init__()
        self.method, self.model, self.config = method, model, config

    def forward(self, x_unlabeled, x_labeled, y_labeled, **extras):
        return self.method.loss(self.model, x_unlabeled, x_labeled, y_labeled, self.config, **extras)


def train_step(
    engine: torch.nn.Module,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    x_unlabeled: torch.Tensor,
    x_labeled: torch.Tensor,
    y_labeled: torch.Tensor,
    grad_clip: float,
    precision: str = "fp32",
    agree: Callable[[bool, dict[str, float]], tuple[bool, dict[str, float]]] = lambda ok, parts: (ok, parts),
    extras: dict[str, Any] | None = None,
) -> dict[str, float] | None:
    """One optimiser step on the loss ``engine(x_unlabeled, x_labeled, y_labeled, **extras)``;
    returns the loss parts, or None (and no update) when the loss is not finite. ``agree`` lets
    DDP ranks agree on skipping; ``extras`` are the keyword arguments a method asked for
    (:meth:`~flowgmm_ae.methods.Method.wants_second_view`)."""
    autocast = torch.autocast(x_unlabeled.device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    with autocast:
        terms: StepLoss = engine(x_unlabeled, x_labeled, y_labeled, **(extras or {}))
    finite, parts = agree(bool(torch.isfinite(terms.total)), terms.parts)
    if not finite:
        return None
    optimizer.zero_grad(set_to_none=True)
    terms.total.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scheduler.step()
    return parts


def next_batch(session: Session) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
    """This step's unlabeled batch, labeled anomalies and their labels, on the device, augmented,
    and the keyword arguments the method's loss asked for: a second augmented view of the same
    images and the share of the run done (drawn only when asked, so other runs' random streams are
    unchanged)."""
    s, feeder = session, session.feeder
    x_u = feeder.unlabeled_batch(s.state.step, s.steps_per_epoch)
    if len(s.labeled):
        pick = torch.randint(len(s.labeled), (s.labeled_batch,), generator=s.rank_generator)
        x_l = feeder.fetch(s.labeled[pick])
    else:
        x_l = feeder.fetch(s.labeled)
    y_l = torch.full((len(x_l),), ANOMALY, dtype=torch.long)
    pin = s.device.type == "cuda"
    raw = torch.cat([x_u, x_l]).to(s.device, non_blocking=pin)
    x = raw
    if s.config.augment:  # on the device: on a GPU the CPU would otherwise be the bottleneck
        x = augment(raw, s.rank_generator)
    if s.flip_mode == "all":
        x = flip_rotate(x, s.rank_generator)
    elif s.flip_mode == "labeled" and len(x_l):
        x = torch.cat([x[: len(x_u)], flip_rotate(x[len(x_u) :], s.rank_generator)])
    x = x.contiguous(memory_format=torch.channels_last)
    extras: dict[str, Any] = {}
    if s.method.wants_second_view(s.config):
        # A second view needs augmentation: a method asking for it refuses --no-augment.
        second = augment(raw, s.rank_generator)
        done = (s.state.epoch - 1) * s.steps_per_epoch + s.state.step
        extras["second_view"] = second.contiguous(memory_format=torch.channels_last)
        extras["progress"] = done / (s.config.epochs * s.steps_per_epoch)
    return x[: len(x_u)], x[len(x_u) :], y_l.to(s.device), extras


def run_epoch(session: Session, progress: tqdm) -> None:
    """The steps of the epoch in progress (from where a resumed run stopped)."""
    s, state, config = session, session.state, session.config
    started = time.perf_counter()
    s.model.train()
    if state.order is None:  # one shuffled pass over U, or several when min_steps asks for it
        shuffles = [torch.randperm(len(s.data.unlabeled), generator=s.generator) for _ in range(s.passes)]
        state.order = torch.cat(shuffles)
    s.feeder.start_epoch(state.order)
    while state.step < s.steps_per_epoch:
        x_u, x_l, y_l, extras = next_batch(s)
        parts = train_step(
            s.engine, s.model, s.optimizer, s.scheduler, x_u, x_l, y_l,
            config.grad_clip, config.precision, s.ctx.agree_on_step, extras,
        )  # fmt: skip
        state.step += 1
        progress.update(1)
        if parts is None:  # every rank skips, or none
            _count_bad_step(session)
            continue
        state.bad_in_a_row = 0
        for key, value in parts.items():
            state.sums[key] = state.sums.get(key, 0.0) + value
        state.n_done += 1
        progress.set_postfix({k: f"{v / state.n_done:.3f}" for k, v in state.sums.items()}, refresh=False)
        if config.checkpoint_every and state.step % config.checkpoint_every == 0:
            state.epoch_seconds += time.perf_counter() - started
            started = time.perf_counter()
            save_session(session)
        if s.crash_after == (state.epoch - 1) * s.steps_per_epoch + state.step:
            os._exit(CRASH_EXIT_CODE)  # a simulated crash: no cleanup, no flush, as a SIGKILL would
    state.epoch_seconds += time.perf_counter() - started


def _count_bad_step(session: Session) -> None:
    state, config = session.state, session.config
    state.bad_in_a_row += 1
    state.skipped_epoch += 1
    if state.bad_in_a_row >= config.max_bad_steps:
        raise TrainingError(
            f"the loss was not finite for {state.bad_in_a_row} steps in a row (epoch {state.epoch}); "
            f"try a lower learning rate (lr, now {config.lr:g})",
            "lr",
        )


def end_epoch(session: Session) -> None:
    """Validation of the epoch just trained, its history row, the best weights so far, and the
    checkpoint; then the loop moves to the next epoch."""
    s, state, config = session, session.state, session.config
    started = time.perf_counter()
    row, val_auc, val_auc_all = validate(session)
    row.update(
        skipped_steps=state.skipped_epoch,
        lr=s.scheduler.get_last_lr()[0],
        seconds=state.epoch_seconds + time.perf_counter() - started,
    )
    state.history.append(row)
    if s.ctx.is_main:
        terms = "  ".join(f"{k} {v / max(state.n_done, 1):.3f}" for k, v in state.sums.items())
        log.info(f"epoch {state.epoch}/{config.epochs}  {terms}  val AUC ({config.score}) {val_auc:.4f}")
    if not math.isnan(val_auc) and val_auc > state.best_auc:
        state.best_auc, state.best_state = val_auc, copy.deepcopy(s.model.state_dict())
    if not math.isnan(val_auc_all) and val_auc_all > state.best_auc_all:
        state.best_auc_all, state.best_state_all = val_auc_all, copy.deepcopy(s.model.state_dict())
    state.skipped_total += state.skipped_epoch
    state.epoch, state.step, state.order = state.epoch + 1, 0, None
    state.sums, state.n_done, state.skipped_epoch, state.epoch_seconds = {}, 0, 0, 0.0
    if s.ctx.is_main and s.run_dir is not None:
        save_weights(s.model, s.run_dir / "last.safetensors")
        write_csv(s.run_dir / "train_log.csv", state.history, fieldnames=list(state.history[0]))
    save_session(session)


def validate(session: Session) -> tuple[dict[str, Any], float, float]:
    """The epoch's history row (mean loss parts, validation AUC and NLL), the validation AUC of
    the run's score, and (diagnostic, NaN without held-out labels) its AUC with every label."""
    s, state, config = session, session.state, session.config
    val = s.data.val
    val_scores, combiner = validation_scores(s.method, s.model, val, config.resolved_beta(), s.device, s.ctx)
    if not np.isfinite(val_scores[config.score]).all():
        raise TrainingError(
            f"the {config.score} score is not finite on validation images after epoch {state.epoch}: "
            f"training diverged; try a lower learning rate (lr, now {config.lr:g})",
            "lr",
        )
    val_auc = ranking_metrics(val.labels, val_scores[config.score])["auc"]
    row: dict[str, Any] = {"epoch": state.epoch}
    row.update({k: v / max(state.n_done, 1) for k, v in state.sums.items()})
    val_auc_all = math.nan
    if s.data.held_out is not None:
        val_auc_all = aucs_with_held_out(
            s.method, s.model, val, val_scores, s.data.held_out, combiner, s.device, s.ctx
        )[config.score]
        row["val_auc_all_labels"] = val_auc_all  # diagnostic: never used for a choice
    normal_val = val.labels == 0
    row.update(
        val_auc=val_auc,
        val_nll_bpd=float(val_scores["flow"][normal_val].mean()) if "flow" in val_scores else "",
    )
    return row, val_auc, val_auc_all


def aucs_with_held_out(
    method: Method,
    model: torch.nn.Module,
    val: Split,
    val_scores: dict[str, np.ndarray],
    held_out: Split,
    combiner: Any,
    device: torch.device,
    ctx: distributed.DistContext,
) -> dict[str, float]:
    """Validation AUC of every score with every validation anomaly label, the budgeted-away ones
    included (diagnostic: to measure what the label budget costs, never to choose anything)."""
    held = split_scores(method, model, held_out.images, combiner, device, ctx)
    labels = np.concatenate([val.labels, held_out.labels])
    return {
        score: diagnostic_auc(labels, np.concatenate([values, held[score]]))
        for score, values in val_scores.items()
    }


def finish(session: Session) -> FitResult:
    """Load the weights ``config.select`` keeps and report every rule's candidate. The checkpoint
    stays until the caller has written its outputs (a crash while writing can still resume)."""
    s, state, config = session, session.state, session.config
    last_state = copy.deepcopy(s.model.state_dict())
    if config.select == "best" and state.best_state is None and s.ctx.is_main:
        log.warning("validation AUC was never defined (no validation anomaly labels): keeping the last epoch")
    if config.select == "best" and state.best_state is not None:
        s.model.load_state_dict(state.best_state)
    return FitResult(
        model=s.model,
        history=state.history,
        candidates={
            "last": last_state,
            "best_val": state.best_state,
            "best_val_all_labels": state.best_state_all,
        },
        steps=config.epochs * s.steps_per_epoch - state.skipped_total,
        selected_epoch=selected_epoch(state.history, config.select),
        init_seconds=state.init_seconds,
    )


def selected_epoch(history: list[dict[str, Any]], select: str, key: str = "val_auc") -> int:
    """The epoch kept: the first with the best ``key`` (validation AUC), or the last one when
    ``select`` is ``last`` or no epoch had a defined AUC."""
    aucs = [row.get(key, math.nan) for row in history]
    aucs = [-math.inf if (not isinstance(a, float) or math.isnan(a)) else a for a in aucs]
    if select == "last" or not history or max(aucs) == -math.inf:
        return len(history)
    return int(np.argmax(aucs)) + 1


def epoch_length(config: TrainConfig, n_unlabeled: int, ctx: distributed.DistContext) -> tuple[int, int]:
    """(steps per epoch, passes over the unlabeled set per epoch). One pass, unless ``epochs``
    passes would give fewer than ``min_steps`` optimiser steps: on a folder of 70 images a pass
    is two steps, and 25 of them are far too few for the flow. Then each epoch makes as many passes
    as needed, so validation and checkpoints still come ``epochs`` times, not hundreds of times."""
    one_pass = math.ceil(n_unlabeled / config.batch_size)
    steps = max(one_pass, math.ceil(config.min_steps / config.epochs))
    passes = math.ceil(steps * config.batch_size / n_unlabeled)
    if ctx.is_main:
        longer = (
            f" ({passes} passes over the {n_unlabeled} unlabeled images per epoch, to reach "
            f"min_steps={config.min_steps})"
        )
        log.info(
            f"training {config.epochs} epochs x {steps} steps = {config.epochs * steps} steps"
            + (longer if steps > one_pass else "")
        )
    return steps, passes


# --- checkpoints ---------------------------------------------------------------------------------


def save_session(session: Session) -> None:
    """The session's checkpoint in its run folder (nothing without one). Under DDP every rank's
    generator state is gathered first."""
    s = session
    if s.run_dir is None:
        return
    rank_states = s.ctx.all_gather(s.rank_generator.get_state()) if s.ctx.active else None
    if s.ctx.is_main:
        save_checkpoint(
            s.run_dir / CHECKPOINT, s.model, s.optimizer, s.scheduler, s.generator, s.state, rank_states
        )


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
