"""The ``flowgmm-ae`` command line. Thin: it parses options and calls the library.

Errors the user can fix (bad options, missing data, diverging training) end with a message and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click
from click.core import ParameterSource
from tqdm.auto import tqdm

from flowgmm_ae.ablation import run_ablation
from flowgmm_ae.data import (
    DATASETS,
    DEFAULT_DATASET,
    FOLDER_PREFIX,
    ImageDataset,
    is_known_dataset,
    load_dataset,
)
from flowgmm_ae.data.splits import VAL_LABEL_POLICIES
from flowgmm_ae.errors import ConfigError, FlowgmmAEError
from flowgmm_ae.evaluation import WEIGHTS, evaluate_run, write_evaluation
from flowgmm_ae.inference import score_images
from flowgmm_ae.io import write_csv
from flowgmm_ae.methods import baseline_names as baseline_names_registered
from flowgmm_ae.methods import method_names, score_names
from flowgmm_ae.metrics import THRESHOLD_POLICIES
from flowgmm_ae.models import NORMS
from flowgmm_ae.objectives import POOL_OBJECTIVES
from flowgmm_ae.priors import prior_names
from flowgmm_ae.runs import read_config, train_config_from_record
from flowgmm_ae.runtime import keep_freed_memory
from flowgmm_ae.training import TrainConfig, train
from flowgmm_ae.version import __version__

METRIC_COLUMNS = ("auc", "auprc", "f1", "acc", "sen", "spe", "threshold")


class _ClickHandler(logging.Handler):
    """The library's messages on stderr, warnings prominently; written through tqdm so that a
    progress bar on the terminal is redrawn below them instead of being torn."""

    def emit(self, record: logging.LogRecord) -> None:
        warning = record.levelno >= logging.WARNING
        message = (f"{record.levelname}: " if warning else "") + record.getMessage()
        with tqdm.external_write_mode(file=sys.stderr):
            click.secho(message, fg="yellow" if warning else None, err=True)  # no colour off a terminal


class _RegistryChoice(click.Choice):
    """A choice among the names a registry holds when the command runs, so that a method or prior
    registered after this module was imported (a plug-in, a test) is offered too."""

    def __init__(self, names: Callable[[], Sequence[str]], extra: Sequence[str] = ()) -> None:
        self._names, self._extra = names, tuple(extra)
        super().__init__(self.choices)

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*self._extra, *self._names())

    @choices.setter
    def choices(self, value) -> None:  # click's __init__ assigns it; the registry stays the source
        pass


METHOD_CHOICE = _RegistryChoice(method_names)
PRIOR_CHOICE = _RegistryChoice(prior_names)
SCORE_CHOICE = _RegistryChoice(score_names)


def _config_error(error: ConfigError) -> click.ClickException:
    """A configuration error with the command-line options of the fields it names."""
    flags = ", ".join("--" + name.replace("_", "-") for name in error.fields)
    return click.ClickException(f"{error} (option {flags})" if flags else str(error))


def _rank() -> int:
    """This process's rank under torchrun (0 otherwise): only rank 0 talks to the user."""
    return int(os.environ.get("RANK", "0"))


def _setup_logging() -> None:
    logger = logging.getLogger("flowgmm_ae")
    logger.setLevel(logging.INFO if _rank() == 0 else logging.ERROR)
    logger.handlers = [_ClickHandler()]
    logger.propagate = False


def format_metrics_table(metrics: dict, split: str = "test") -> str:
    """A plain-text table of one split's metrics for every score, the selected score first."""
    scores = metrics["scores"]
    order = [metrics["score"]] + [name for name in scores if name != metrics["score"]]
    header = f"{'score':<12}" + "".join(f"{c:>10}" for c in METRIC_COLUMNS)
    lines = [header, "-" * len(header)]
    for name in order:
        test = scores[name][split]
        mark = " *" if name == metrics["score"] else ""
        lines.append(f"{name + mark:<12}" + "".join(f"{test[c]:>10.4f}" for c in METRIC_COLUMNS))
    policy = scores[metrics["score"]][split]["threshold_policy"]
    lines.append(f"(* selected score; thresholds chosen on validation, policy: {policy})")
    if metrics.get("subtypes") and metrics.get("target", "test") == split:
        lines.append(f"\n{metrics['score']} AUC per anomaly subtype (each against every normal image):")
        for name, entry in metrics["subtypes"].items():
            seen = {True: " (labels drawn from it)", False: " (unseen)"}.get(entry.get("seen"), "")
            lines.append(
                f"  {name:<12}AUC {entry['auc']:.4f}  AUPRC {entry['auprc']:.4f}  n = {entry['n']}{seen}"
            )
    return "\n".join(lines)


class _BetaType(click.ParamType):
    """A number in [0, 1] or the word ``auto``."""

    name = "beta"

    def get_metavar(self, param, ctx=None) -> str:
        return "[0-1|auto]"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, float):
            return value
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number in [0, 1] nor 'auto'", param, ctx)
        if not 0.0 <= number <= 1.0:
            self.fail(f"{number} is not in [0, 1]", param, ctx)
        return number


BETA = _BetaType()


class _DatasetType(click.ParamType):
    """A known data set name or ``folder:PATH``."""

    name = "dataset"

    def get_metavar(self, param, ctx=None) -> str:
        return "[" + "|".join(DATASETS) + f"|{FOLDER_PREFIX}PATH]"

    def convert(self, value, param, ctx):
        if is_known_dataset(value):
            return value
        self.fail(f"{value!r} is not one of {', '.join(DATASETS)}, nor {FOLDER_PREFIX}PATH", param, ctx)


DATASET = _DatasetType()


def _data_loading_options(command: Callable) -> Callable:
    """--val-frac, --group-pattern, --strict, --cache-dir and --no-cache, shared by ``train`` and
    ``data info``."""
    options = [
        click.option(
            "--val-frac",
            type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
            default=0.1,
            show_default=True,
            help="Validation part carved (seeded, stratified, whole patients where known) from train, "
            "for data sets without their own val split.",
        ),
        click.option(
            "--group-pattern",
            default=None,
            metavar="REGEX",
            help="folder: data sets: a regular expression searched in each file name whose first "
            "capture group (or whole match) is the patient, e.g. '^(p\\d+)_'; carved splits then "
            "take whole patients. A manifest's group column takes precedence.",
        ),
        click.option(
            "--strict", is_flag=True, help="Stop at an unreadable image file instead of skipping it."
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Where decoded images are cached (default: $FLOWGMM_AE_CACHE, else "
            "~/.cache/flowgmm_ae/decoded).",
        ),
        click.option("--no-cache", is_flag=True, help="Decode image files afresh and cache nothing."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
@click.version_option(__version__, prog_name="flowgmm-ae")
def main() -> None:
    """Semi-supervised medical-image anomaly detection: AE-FLOW with a Gaussian-mixture prior."""
    _setup_logging()
    keep_freed_memory()


def _resume(ctx: click.Context, run_dir: str, progress: bool) -> None:
    """``train --resume``: rebuild the run's configuration from its config.json and continue it."""
    ignored = [
        name
        for name in ctx.params
        if name not in ("resume_dir", "quiet") and ctx.get_parameter_source(name) != ParameterSource.DEFAULT
    ]
    if ignored:
        logging.getLogger("flowgmm_ae").warning(
            "--resume continues the run with its own options; ignoring "
            + ", ".join("--" + name.replace("_", "-") for name in ignored)
        )
    try:
        saved = read_config(run_dir)
        config = dataclasses.replace(train_config_from_record(saved), out=run_dir, progress=progress)
        result = train(config, resume=True)
    except FlowgmmAEError as error:
        raise click.ClickException(str(error)) from error
    _report(result)


def _report(result) -> None:
    if _rank() != 0:
        return
    click.echo(f"\nTest metrics ({result.metrics['test']['threshold_policy']} threshold):")
    click.echo(format_metrics_table(result.metrics))
    click.echo(f"\nRun folder: {result.out_dir}")


def _comma_list(kind: type) -> Callable[[click.Context, click.Parameter, str | None], list | None]:
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> list | None:
        if value is None:
            return None
        try:
            return [kind(item) for item in value.split(",") if item.strip()]
        except ValueError as error:
            raise click.BadParameter(
                f"expected comma-separated {kind.__name__} values, got {value!r}"
            ) from error

    return parse


@main.command("train")
@click.option(
    "--method",
    type=METHOD_CHOICE,
    default=TrainConfig.method,
    show_default=True,
    help="aeflow (prior chosen by --prior) or a baseline (ae, cnn, deepsad, devnet, supervised, and "
    "any method registered with flowgmm_ae.register_method).",
)
@click.option(
    "--dataset",
    type=DATASET,
    default=DEFAULT_DATASET,
    show_default=True,
    help="Data set, or folder:PATH for your own (PATH/normal, PATH/abnormal, optionally under "
    "train/val/test, or a CSV manifest path,label[,split]). If left at the default and "
    "PneumoniaMNIST cannot be found or downloaded, training falls back to 'synthetic'.",
)
@click.option(
    "--data-root",
    type=click.Path(file_okay=True, dir_okay=True),
    default=None,
    help="Folder (or file) holding the data; else $FLOWGMM_AE_DATA, then the cache.",
)
@_data_loading_options
@click.option(
    "--prior",
    type=PRIOR_CHOICE,
    default=TrainConfig.prior,
    show_default=True,
    help="gmm: class-conditional mixture (uses labels); gaussian: unsupervised AE-FLOW.",
)
@click.option(
    "--labeled-frac",
    type=click.FloatRange(0.0, 1.0),
    default=TrainConfig.labeled_frac,
    show_default=True,
    help="Fraction of the train split's anomalies that are labeled (0: unsupervised).",
)
@click.option(
    "--n-labeled",
    type=click.IntRange(min=0),
    default=None,
    help="Number of labeled anomalies instead of a fraction.",
)
@click.option(
    "--labeled-subtypes",
    callback=_comma_list(str),
    default=None,
    metavar="A,B",
    help="Label only anomalies of these subtypes (e.g. bacteria; `data info` lists them): "
    "--labeled-frac of their training images, and validation keeps only their anomalies. The "
    "other subtypes stay out of training (or join the unlabeled pool under --contamination) and "
    "are scored as unseen.",
)
@click.option(
    "--contamination",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=TrainConfig.contamination,
    show_default=True,
    help="Fraction of unrevealed anomalies mixed into the unlabeled set.",
)
@click.option(
    "--assumed-contamination",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=None,
    help="The anomalous fraction of the unlabeled pool that --pool assumes [default: --contamination]. "
    "Set it alone for a pool that came contaminated.",
)
@click.option(
    "--pool",
    type=click.Choice(POOL_OBJECTIVES),
    default=TrainConfig.pool,
    show_default=True,
    help="How the mixture prior explains an unlabeled pool holding anomalies "
    "(--assumed-contamination): trim leaves each batch's most anomalous fraction out, marginal uses "
    "the mixture marginal (FlowGMM; collapsed at 10 %% on PneumoniaMNIST), normal takes the pool as "
    "normal.",
)
@click.option("--freeze-means", is_flag=True, help="Keep the mixture means at their initial values.")
@click.option(
    "--freeze-scales",
    is_flag=True,
    help="Keep the mixture scales at 1 (identity covariances, as in FlowGMM).",
)
@click.option(
    "--learn-weights",
    is_flag=True,
    help="Learn the mixture weights (the unlabeled pool's composition) instead of fixing them "
    "(needs --pool marginal).",
)
@click.option("--image-size", type=click.IntRange(min=8), default=TrainConfig.image_size, show_default=True)
@click.option(
    "--stride",
    type=click.IntRange(min=1),
    default=None,
    help="Encoder down-sampling factor (power of 2); default: image-size / 4, a 4 x 4 latent "
    "(chosen on validation AUC at 128 px).",
)
@click.option(
    "--latent-channels", type=click.IntRange(min=2), default=TrainConfig.latent_channels, show_default=True
)
@click.option(
    "--base-width",
    type=click.IntRange(min=1),
    default=TrainConfig.base_width,
    show_default=True,
    help="Channels of the first encoder stage (doubling per stage, up to 256).",
)
@click.option(
    "--encoder",
    type=click.Choice(["conv", "wrn50"]),
    default=TrainConfig.encoder,
    show_default=True,
    help="conv: the small convolutional encoder; wrn50: AE-FLOW's Wide-ResNet-50-2 trunk (layer3, "
    "stride 16), frozen unless --finetune-encoder.",
)
@click.option(
    "--encoder-weights",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A torchvision wide_resnet50_2 state dict (torch.save or .safetensors) for --encoder wrn50; "
    "ImageNet weights are not downloaded.",
)
@click.option("--finetune-encoder", is_flag=True, help="Train the wrn50 trunk too.")
@click.option(
    "--norm",
    type=click.Choice(NORMS),
    default=TrainConfig.norm,
    show_default=True,
    help="Normalisation in the conv encoder and the decoder (aeflow and the baselines built on "
    "them): batch (BatchNorm + ReLU; scores use its running statistics) or group (GroupNorm + "
    "SiLU). --method cnn always uses BatchNorm.",
)
@click.option("--flow-steps", type=click.IntRange(min=1), default=TrainConfig.flow_steps, show_default=True)
@click.option(
    "--flow-hidden",
    type=click.IntRange(min=1),
    default=TrainConfig.flow_hidden,
    show_default=True,
    help="Hidden channels of each coupling layer's network.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=TrainConfig.epochs, show_default=True)
@click.option(
    "--min-steps",
    type=click.IntRange(min=0),
    default=TrainConfig.min_steps,
    show_default=True,
    help="Make each epoch several passes over the unlabeled images when --epochs passes would give "
    "fewer optimiser steps than this (small data sets).",
)
@click.option("--batch-size", type=click.IntRange(min=2), default=TrainConfig.batch_size, show_default=True)
@click.option(
    "--labeled-batch-size",
    type=click.IntRange(min=1),
    default=TrainConfig.labeled_batch_size,
    show_default=True,
)
@click.option(
    "--lr", type=click.FloatRange(min=0.0, min_open=True), default=TrainConfig.lr, show_default=True
)
@click.option(
    "--alpha",
    type=click.FloatRange(0.0, 1.0),
    default=TrainConfig.alpha,
    show_default=True,
    help="Weight of the likelihood terms against reconstruction.",
)
@click.option(
    "--labeled-weight",
    "--lambda",
    "labeled_weight",
    type=click.FloatRange(min=0.0),
    default=TrainConfig.labeled_weight,
    show_default=True,
    help="Weight λ of the labeled likelihood term.",
)
@click.option(
    "--class-weight",
    "--gamma",
    "class_weight",
    type=click.FloatRange(min=0.0),
    default=TrainConfig.class_weight,
    show_default=True,
    help="Weight γ of the cross-entropy of the mixture's class posterior p(y|x) (hybrid objective).",
)
@click.option(
    "--beta",
    type=BETA,
    default=TrainConfig.beta,
    show_default=True,
    help="Weight of the flow score against the reconstruction score in 'combined' (0.9 as in "
    "AE-FLOW), or 'auto' to choose it on validation.",
)
@click.option("--no-augment", is_flag=True, help="Turn off the random shift / intensity jitter.")
@click.option(
    "--score",
    type=_RegistryChoice(score_names, extra=("auto",)),
    default=TrainConfig.score,
    show_default=True,
    help="Score used for checkpoint selection and the headline metrics. auto: the method's own "
    "(the mixture's class posterior for flowgmm-ae with labels, else the combined score).",
)
@click.option(
    "--threshold-policy",
    type=click.Choice(THRESHOLD_POLICIES),
    default=TrainConfig.threshold_policy,
    show_default=True,
)
@click.option(
    "--normal-quantile",
    type=click.FloatRange(0.0, 1.0),
    default=TrainConfig.normal_quantile,
    show_default=True,
)
@click.option(
    "--val-labels",
    type=click.Choice(VAL_LABEL_POLICIES),
    default=TrainConfig.val_labels,
    show_default=True,
    help="budget: validation keeps every normal image but only --labeled-frac of its anomalies, so "
    "checkpoint, threshold and beta use no more labels than training (all are counted); all: every "
    "validation anomaly.",
)
@click.option(
    "--select",
    type=click.Choice(["best", "last"]),
    default=TrainConfig.select,
    show_default=True,
    help="Keep the last epoch, or the one with the best validation AUC (with a handful of validation "
    "anomalies it picks early, saturated epochs: see the README).",
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=TrainConfig.seed, show_default=True)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default=TrainConfig.device, show_default=True
)
@click.option(
    "--loader-workers",
    type=click.IntRange(min=0),
    default=TrainConfig.loader_workers,
    show_default=True,
    help="Threads that read unlabeled batches ahead (useful on GPUs; the results do not change).",
)
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default=TrainConfig.precision,
    show_default=True,
    help="bf16: autocast the encoder and decoder (for GPUs); the flow and prior stay float32.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run folder (default: a new folder under runs/).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=0),
    default=TrainConfig.checkpoint_every,
    show_default=True,
    help="Also checkpoint every N steps within an epoch (checkpoints are always written at "
    "every epoch's end).",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Continue an interrupted run folder from its last checkpoint, with its own options.",
)
@click.pass_context
def train_command(ctx: click.Context, resume_dir: str | None, **options) -> None:
    """Train a model and evaluate it on the test split."""
    if resume_dir:
        _resume(ctx, resume_dir, progress=not options["quiet"])
        return
    options["dataset_given"] = ctx.get_parameter_source("dataset") != ParameterSource.DEFAULT
    options["augment"] = not options.pop("no_augment")
    options["progress"] = not options.pop("quiet")
    options["use_cache"] = not options.pop("no_cache")
    if (
        options["n_labeled"] is not None
        and ctx.get_parameter_source("labeled_frac") != ParameterSource.DEFAULT
    ):
        raise click.UsageError("give either --labeled-frac or --n-labeled, not both")
    config = TrainConfig(**options)
    try:
        result = train(config)
    except ConfigError as error:
        raise _config_error(error) from error
    except FlowgmmAEError as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:
        raise click.ClickException(f"could not write the run folder: {error}") from error
    except KeyboardInterrupt:
        click.secho(
            "interrupted: continue from the last checkpoint with 'flowgmm-ae train --resume RUN_DIR'",
            fg="yellow",
            err=True,
        )
        sys.exit(130)
    _report(result)


@main.command("evaluate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--split", type=click.Choice(["test", "val"]), default="test", show_default=True)
@click.option(
    "--dataset",
    type=DATASET,
    default=None,
    help="Evaluate on another data set's split (thresholds still come from the run's own validation split).",
)
@click.option("--data-root", type=click.Path(), default=None)
@click.option("--score", type=SCORE_CHOICE, default=None, help="Default: the run's.")
@click.option(
    "--threshold-policy", type=click.Choice(THRESHOLD_POLICIES), default=None, help="Default: the run's."
)
@click.option("--normal-quantile", type=click.FloatRange(0.0, 1.0), default=None)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write metrics.json, scores.csv and plots into this folder.",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--weights",
    type=click.Choice(list(WEIGHTS)),
    default="selected",
    show_default=True,
    help="The run's selected checkpoint (model.safetensors) or its last epoch (last.safetensors).",
)
def evaluate_command(
    run_dir, split, dataset, data_root, score, threshold_policy, normal_quantile, out, device, weights
) -> None:
    """Reload a trained run (weights read safely) and recompute its metrics."""
    try:
        evaluation = evaluate_run(
            run_dir, split, dataset, data_root, score, threshold_policy, normal_quantile, device, weights
        )
    except (FlowgmmAEError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if out:
        write_evaluation(Path(out), evaluation)
    where = f"{dataset or read_config(run_dir)['dataset_used']} {split}"
    click.echo(f"Metrics on {where} ({evaluation.metrics[split]['threshold_policy']} threshold):")
    click.echo(format_metrics_table(evaluation.metrics, split))


@main.command("score")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--score", type=SCORE_CHOICE, default=None, help="Default: the run's.")
@click.option(
    "--maps",
    "maps_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write a PNG (input, reconstruction, flow map, residual map) and an .npz of the "
    "raw maps per image into this folder.",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the rows to this CSV file.",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True)
def score_command(run_dir, images, score, maps_dir, csv_path, device) -> None:
    """Score image files or folders with a trained run; optionally write pixel-level anomaly maps.

    Prints one row per image: path, score and the label predicted at the run's validation-chosen
    threshold."""
    try:
        rows = score_images(run_dir, list(images), score, maps_dir, device)
    except (FlowgmmAEError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    width = max(len(row["path"]) for row in rows)
    for row in rows:
        click.echo(f"{row['path']:<{width}}  {row['score']:>10.4f}  {row['prediction']}")
    if csv_path:
        write_csv(csv_path, rows, fieldnames=list(rows[0]))


def format_data_info(dataset: ImageDataset, image_size: int) -> str:
    """Counts per split and class (and subtype), groups (patients) per split and shared between
    splits, image sizes found and skipped files."""
    lines = [f"Data set: {dataset.name}", f"Source:   {dataset.source}", ""]
    header = f"{'split':<8}{'normal':>8}{'anomaly':>9}{'total':>8}{'groups':>8}  subtypes"
    lines += [header, "-" * len(header)]
    groups = dataset.group_summary()
    for name in ("train", "val", "test"):
        split = getattr(dataset, name)
        counts = split.counts()
        subtypes = ", ".join(f"{k} {v}" for k, v in split.subtype_counts().items())
        shown = "-" if groups[name] is None else str(groups[name])
        lines.append(
            f"{name:<8}{counts['normal']:>8}{counts['anomaly']:>9}{len(split):>8}{shown:>8}  {subtypes}"
        )
    lines.append("")
    lines.append(f"Grouping: {dataset.grouping}")
    overlap = dataset.group_overlap()
    if overlap:
        lines.append("Groups shared: " + ", ".join(f"{pair} {count}" for pair, count in overlap.items()))
    else:
        lines.append("Groups shared: unknown (no group information)")
    channels = "grey" if dataset.in_channels == 1 else f"{dataset.in_channels} channels"
    if dataset.image_sizes:
        shown = list(dataset.image_sizes.items())
        sizes = ", ".join(f"{size} ({count})" for size, count in shown[:8])
        more = f" and {len(shown) - 8} more sizes" if len(shown) > 8 else ""
        lines.append(f"Image sizes found: {sizes}{more}; read as {channels} at {image_size} px")
    else:
        lines.append(f"Images: {channels}, {dataset.image_size} px")
    lines.append(f"Skipped (unreadable) files: {len(dataset.skipped)}")
    lines += [f"  {item.path}: {item.reason}" for item in dataset.skipped[:20]]
    if len(dataset.skipped) > 20:
        lines.append(f"  ... and {len(dataset.skipped) - 20} more")
    lines += [f"Note: {note}" for note in dataset.notes]
    return "\n".join(lines)


@main.group("data")
def data_group() -> None:
    """Inspect data sets before training."""


@data_group.command("info")
@click.option("--dataset", type=DATASET, default=DEFAULT_DATASET, show_default=True)
@click.option("--data-root", type=click.Path(), default=None)
@click.option("--image-size", type=click.IntRange(min=8), default=TrainConfig.image_size, show_default=True)
@_data_loading_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
def data_info_command(
    dataset, data_root, image_size, val_frac, group_pattern, strict, cache_dir, no_cache, quiet
) -> None:
    """Print a data set's splits, classes, patients (groups), image sizes and unreadable files
    (decoding it once, so the cache is warm for training at the same --image-size)."""
    try:
        loaded = load_dataset(
            dataset,
            image_size,
            data_root=data_root,
            allow_download=False,
            val_frac=val_frac,
            strict=strict,
            cache_dir=cache_dir,
            use_cache=not no_cache,
            progress=not quiet,
            group_pattern=group_pattern,
        )
    except FlowgmmAEError as error:
        raise click.ClickException(str(error)) from error
    click.echo(format_data_info(loaded, image_size))


@main.command("ablate")
@click.option("--dataset", type=DATASET, default=DEFAULT_DATASET, show_default=True)
@click.option("--data-root", type=click.Path(), default=None)
@click.option("--priors", callback=_comma_list(str), default="gaussian,gmm", show_default=True)
@click.option(
    "--baselines",
    "baseline_names",
    callback=_comma_list(str),
    default="",
    show_default=True,
    help="Comma-separated baselines (registered methods without a prior) to add, e.g. cnn,deepsad.",
)
@click.option("--labeled-fracs", callback=_comma_list(float), default="0,0.01,0.05,0.1", show_default=True)
@click.option(
    "--n-labeled",
    "n_labeled",
    callback=_comma_list(int),
    default=None,
    help="Label budgets as counts (e.g. 1,10,100) instead of --labeled-fracs.",
)
@click.option("--seeds", callback=_comma_list(int), default="0,1,2", show_default=True)
@click.option(
    "--seeds-for",
    "seeds_for",
    multiple=True,
    metavar="BUDGET=SEEDS",
    help="Other seeds for one budget, e.g. 0.05=0,1,2,3,4 (repeatable).",
)
@click.option("--epochs", type=click.IntRange(min=1), default=TrainConfig.epochs, show_default=True)
@click.option("--image-size", type=click.IntRange(min=8), default=TrainConfig.image_size, show_default=True)
@click.option(
    "--score",
    type=_RegistryChoice(score_names, extra=("auto",)),
    default=TrainConfig.score,
    show_default=True,
    help="As for train, for the AE-FLOW cells; baselines use their own.",
)
@click.option(
    "--normal-quantile",
    type=click.FloatRange(0.0, 1.0),
    default=TrainConfig.normal_quantile,
    show_default=True,
)
@click.option("--beta", type=BETA, default=TrainConfig.beta, show_default=True, help="As for train.")
@click.option(
    "--class-weight",
    "class_weight",
    type=click.FloatRange(min=0.0),
    default=TrainConfig.class_weight,
    show_default=True,
    help="As for train; applies to the gmm prior's cells only.",
)
@click.option(
    "--norm",
    type=click.Choice(NORMS),
    default=TrainConfig.norm,
    show_default=True,
    help="As for train; every cell (--method cnn always uses BatchNorm).",
)
@click.option(
    "--labeled-subtypes",
    "subtype_sets",
    multiple=True,
    metavar="A,B",
    help="An axis: for each value, label-using cells draw labels only from these anomaly subtypes "
    "(repeatable; e.g. --labeled-subtypes bacteria --labeled-subtypes virus). Tables then show "
    "seen and unseen AUC.",
)
@click.option(
    "--contaminations",
    callback=_comma_list(float),
    default="0",
    show_default=True,
    help="An axis: fractions of hidden anomalies in the unlabeled pool (e.g. 0,0.05,0.1).",
)
@click.option(
    "--pool",
    type=click.Choice(POOL_OBJECTIVES),
    default=TrainConfig.pool,
    show_default=True,
    help="As for train; the gmm prior's cells under contamination.",
)
@click.option(
    "--assumed-contamination",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=None,
    help="As for train (default: each cell's contamination); the gmm prior's cells.",
)
@click.option(
    "--plot-budget",
    type=float,
    default=None,
    help="Label budget shown in roc.png and score_hist.png (default: a middle one).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Ablation folder; rerunning with the same folder resumes it.",
)
def ablate_command(
    dataset,
    data_root,
    priors,
    baseline_names,
    labeled_fracs,
    n_labeled,
    seeds,
    seeds_for,
    epochs,
    image_size,
    score,
    normal_quantile,
    beta,
    class_weight,
    norm,
    subtype_sets,
    contaminations,
    pool,
    assumed_contamination,
    plot_budget,
    out,
) -> None:
    """Train a grid of priors (and baselines) x label budgets x seeds and compare them (resumable)."""
    unknown = set(priors) - set(prior_names())
    if unknown:
        message = f"unknown priors {sorted(unknown)}; choose from {', '.join(prior_names())}"
        raise click.BadParameter(message, param_hint="--priors")
    unknown = set(baseline_names) - set(baseline_names_registered())
    if unknown:
        message = f"unknown baselines {sorted(unknown)}; choose from {', '.join(baseline_names_registered())}"
        raise click.BadParameter(message, param_hint="--baselines")
    if any(not 0 <= seed < 2**32 for seed in seeds):
        raise click.BadParameter("seeds must lie in [0, 2**32 - 1]", param_hint="--seeds")
    per_budget: dict[float, list[int]] = {}
    for item in seeds_for:
        budget_text, _, seed_text = item.partition("=")
        try:
            per_budget[float(budget_text)] = [int(s) for s in seed_text.split(",") if s.strip()]
        except ValueError:
            message = f"{item!r} is not BUDGET=SEED,SEED,..."
            raise click.BadParameter(message, param_hint="--seeds-for") from None
    if any(not 0 <= f <= 1 for f in labeled_fracs):
        raise click.BadParameter("fractions must lie in [0, 1]", param_hint="--labeled-fracs")
    if any(not 0 <= c < 1 for c in contaminations):
        raise click.BadParameter("contaminations must lie in [0, 1)", param_hint="--contaminations")
    subtypes = [tuple(t.strip() for t in item.split(",") if t.strip()) for item in subtype_sets] or [None]
    base = TrainConfig(
        dataset=dataset,
        data_root=data_root,
        epochs=epochs,
        image_size=image_size,
        score=score,
        normal_quantile=normal_quantile,
        beta=beta,
        class_weight=class_weight,
        norm=norm,
        pool=pool,
        assumed_contamination=assumed_contamination,
    )
    budgets = n_labeled if n_labeled is not None else labeled_fracs
    try:
        run_ablation(
            out,
            base,
            [*priors, *baseline_names],
            budgets,
            seeds,
            by_count=n_labeled is not None,
            plot_budget=plot_budget,
            echo=click.echo,
            seeds_for=per_budget,
            subtype_sets=subtypes,
            contaminations=contaminations,
        )
    except ConfigError as error:
        raise _config_error(error) from error
    except FlowgmmAEError as error:
        raise click.ClickException(str(error)) from error
    click.echo(Path(out, "results.md").read_text())


if __name__ == "__main__":  # pragma: no cover
    main()
