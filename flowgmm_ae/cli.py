"""The ``flowgmm-ae`` command line. Thin: it parses options and calls the library.

Errors the user can fix (bad options, missing data, diverging training) end with a message and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from tqdm.auto import tqdm

from flowgmm_ae.ablation import AXES, make_grid, run_ablation
from flowgmm_ae.cli_options import GroupedCommand, param_type, parse_grid, schema_options
from flowgmm_ae.data import load_dataset
from flowgmm_ae.errors import FlowgmmAEError
from flowgmm_ae.evaluation import WEIGHTS, evaluate_run, write_evaluation
from flowgmm_ae.inference import score_images
from flowgmm_ae.io import write_csv
from flowgmm_ae.methods import baseline_names as baseline_names_registered
from flowgmm_ae.priors import prior_names
from flowgmm_ae.reports import format_data_info, format_metrics_table
from flowgmm_ae.runs import built_config, read_config
from flowgmm_ae.runtime import keep_freed_memory
from flowgmm_ae.schema import declared_fields
from flowgmm_ae.training import TrainConfig, train
from flowgmm_ae.version import __version__


class _ClickHandler(logging.Handler):
    """The library's messages on stderr, warnings prominently; written through tqdm so that a
    progress bar on the terminal is redrawn below them instead of being torn."""

    def emit(self, record: logging.LogRecord) -> None:
        warning = record.levelno >= logging.WARNING
        message = (f"{record.levelname}: " if warning else "") + record.getMessage()
        with tqdm.external_write_mode(file=sys.stderr):
            click.secho(message, fg="yellow" if warning else None, err=True)  # no colour off a terminal


def _config_error(error: FlowgmmAEError) -> click.ClickException:
    """An error with the command-line options of the fields it names (``fields``, if any)."""
    flags = ", ".join("--" + name.replace("_", "-") for name in getattr(error, "fields", ()))
    return click.ClickException(f"{error} (option {flags})" if flags else str(error))


def _rank() -> int:
    """This process's rank under torchrun (0 otherwise): only rank 0 talks to the user."""
    return int(os.environ.get("RANK", "0"))


def _setup_logging() -> None:
    logger = logging.getLogger("flowgmm_ae")
    logger.setLevel(logging.INFO if _rank() == 0 else logging.ERROR)
    logger.handlers = [_ClickHandler()]
    logger.propagate = False


def _field(name: str):
    """TrainConfig's declared field ``name`` (its help, type and choices serve other commands too)."""
    return next(field for field in declared_fields(TrainConfig) if field.name == name)


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
        if name not in ("resume_dir", "progress")
        and ctx.get_parameter_source(name) != ParameterSource.DEFAULT
    ]
    if ignored:
        logging.getLogger("flowgmm_ae").warning(
            "--resume continues the run with its own options; ignoring "
            + ", ".join("--" + name.replace("_", "-") for name in ignored)
        )
    config = _run(lambda: built_config(read_config(run_dir)))
    _report(_run(lambda: train(dataclasses.replace(config, out=run_dir, progress=progress), resume=True)))


def _report(result) -> None:
    if _rank() != 0:
        return
    click.echo(f"\nTest metrics ({result.metrics['test']['threshold_policy']} threshold):")
    click.echo(format_metrics_table(result.metrics))
    click.echo(f"\nRun folder: {result.out_dir}")


def make_train_command(config_cls: type[TrainConfig] = TrainConfig) -> click.Command:
    """``flowgmm-ae train``: one option per field of ``config_cls`` (generated from its schema)."""

    @click.command("train", cls=GroupedCommand)
    @schema_options(config_cls)
    @click.option(
        "--resume",
        "resume_dir",
        type=click.Path(exists=True, file_okay=False),
        default=None,
        help="Continue an interrupted run folder from its last checkpoint, with its own options.",
    )
    @click.pass_context
    def train_command(ctx: click.Context, resume_dir: str | None, **fields) -> None:
        """Train a model and evaluate it on the test split."""
        if resume_dir:
            _resume(ctx, resume_dir, progress=fields["progress"])
            return
        fields["dataset_given"] = ctx.get_parameter_source("dataset") != ParameterSource.DEFAULT
        if (
            fields["n_labeled"] is not None
            and ctx.get_parameter_source("labeled_frac") != ParameterSource.DEFAULT
        ):
            raise click.UsageError("give either --labeled-frac or --n-labeled, not both")
        _report(_run(lambda: train(config_cls(**fields))))

    return train_command


def _run(work: Callable[[], Any]) -> Any:
    """``work()`` with the package's errors as messages and a non-zero exit, never a traceback."""
    try:
        return work()
    except FlowgmmAEError as error:  # a ConfigError or TrainingError adds its options
        raise _config_error(error) from error
    except OSError as error:
        raise click.ClickException(f"could not write the run folder: {error}") from error
    except KeyboardInterrupt:
        click.secho(
            "interrupted: continue from the last checkpoint with 'flowgmm-ae train --resume RUN_DIR'",
            fg="yellow",
            err=True,
        )
        sys.exit(130)


main.add_command(make_train_command())
_DEVICE = click.option(
    "--device",
    type=param_type(_field("device")),
    default="auto",
    show_default=True,
    help=_field("device").setting.help,
)
_SCORE = click.option("--score", type=param_type(_field("score")), default=None, help="Default: the run's.")


@main.command("evaluate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--split", type=click.Choice(["test", "val"]), default="test", show_default=True)
@click.option(
    "--dataset",
    type=param_type(_field("dataset")),
    default=None,
    help="Evaluate on another data set's split (thresholds still come from the run's own validation split).",
)
@click.option("--data-root", type=click.Path(), default=None)
@_SCORE
@click.option(
    "--threshold-policy",
    type=param_type(_field("threshold_policy")),
    default=None,
    help="Default: the run's.",
)
@click.option("--normal-quantile", type=click.FloatRange(0.0, 1.0), default=None)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write metrics.json, scores.csv and plots into this folder.",
)
@_DEVICE
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
@_SCORE
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
@_DEVICE
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


@main.group("data")
def data_group() -> None:
    """Inspect data sets before training."""


_DATA_FIELDS = (
    "dataset",
    "data_root",
    "image_size",
    "val_frac",
    "group_pattern",
    "strict",
    "cache_dir",
    "use_cache",
    "progress",
)


@data_group.command("info", cls=GroupedCommand)
@schema_options(TrainConfig, only=_DATA_FIELDS)
def data_info_command(**fields) -> None:
    """Print a data set's splits, classes, patients (groups), image sizes and unreadable files
    (decoding it once, so the cache is warm for training at the same --image-size)."""
    dataset, image_size = fields.pop("dataset"), fields.pop("image_size")
    loaded = _run(lambda: load_dataset(dataset, image_size, allow_download=False, **fields))
    click.echo(format_data_info(loaded, image_size))


def make_ablate_command(config_cls: type[TrainConfig] = TrainConfig) -> click.Command:
    """``flowgmm-ae ablate``: a grid over any cell-defining field, every other field as for train."""

    @click.command("ablate", cls=GroupedCommand)
    @schema_options(config_cls, exclude=(*AXES, "out", "progress"))
    @click.option(
        "--grid",
        "grid_items",
        multiple=True,
        metavar="FIELD=V1,V2",
        help="An axis of the grid over any option that defines a cell (repeatable), e.g. "
        "--grid lr=1e-3,3e-4 --grid norm=batch,group; a list option's items join with '+'. "
        "method, prior, labeled_frac, n_labeled, seed, contamination and labeled_subtypes replace "
        "the shorthands below.",
    )
    @click.option(
        "--case",
        "case_items",
        multiple=True,
        metavar="FIELD=V[;FIELD=V]",
        help="A one-at-a-time variant beside the options as given (repeatable): --case epochs=40 "
        "--case 'labeled_batch_size=32;epochs=40' trains the grid three times, not as a product.",
    )
    @click.option("--priors", default="gaussian,gmm", show_default=True, help="Priors of AE-FLOW's cells.")
    @click.option(
        "--baselines", "baseline_list", default="", help="Methods without a prior to add, e.g. cnn."
    )
    @click.option("--labeled-fracs", default="0,0.01,0.05,0.1", show_default=True, help="Label budgets.")
    @click.option("--n-labeled", "counts", default=None, help="Label budgets as counts (e.g. 1,10,100).")
    @click.option("--seeds", default="0,1,2", show_default=True)
    @click.option(
        "--seeds-for",
        multiple=True,
        metavar="BUDGET=SEEDS",
        help="Other seeds for one budget, e.g. 0.05=0,1,2,3,4 (repeatable).",
    )
    @click.option(
        "--labeled-subtypes",
        "subtype_sets",
        multiple=True,
        metavar="A,B",
        help="An axis: label-using cells draw labels only from these subtypes (repeatable).",
    )
    @click.option("--contaminations", default="0", show_default=True, help="An axis of --contamination.")
    @click.option(
        "--plot-budget", type=float, default=None, help="Budget shown in roc.png and score_hist.png."
    )
    @click.option(
        "--dry-run", is_flag=True, help="List the cells (and which are finished) and train nothing."
    )
    @click.option(
        "--out",
        type=click.Path(file_okay=False),
        required=True,
        help="Ablation folder; rerunning with the same folder resumes it.",
    )
    def ablate_command(
        grid_items,
        case_items,
        priors,
        baseline_list,
        labeled_fracs,
        counts,
        seeds,
        seeds_for,
        subtype_sets,
        contaminations,
        plot_budget,
        dry_run,
        out,
        **fields,
    ) -> None:
        """Train a grid of methods x label budgets x seeds x any --grid axis and compare them
        (resumable: a finished cell is reused only if it was trained with the same options)."""
        grid = parse_grid(grid_items, config_cls)
        axes = _axes(
            grid, priors, baseline_list, labeled_fracs, counts, seeds, seeds_for, subtype_sets, contaminations
        )
        cases = [{}] + [_case(item, config_cls) for item in case_items]
        base = config_cls(**fields)
        overrides = [{**combination, **case} for case in cases for combination in _product(grid)]
        cells = _run(lambda: make_grid(**axes, overrides=overrides))
        if dry_run:
            for cell in cells:
                done = (Path(out) / "runs" / cell.name / "metrics.json").is_file()
                click.echo(f"{cell.name}{'  (finished)' if done else ''}")
            click.echo(f"{len(cells)} cells")
            return
        _run(
            lambda: run_ablation(
                out, base, **axes, overrides=overrides, plot_budget=plot_budget, echo=click.echo
            )
        )
        click.echo(Path(out, "results.md").read_text())

    return ablate_command


def _split(text: str | None, kind: type, hint: str) -> list:
    """Comma-separated values of ``kind``; a clear error naming the option ``hint`` otherwise."""
    try:
        return [kind(item) for item in (text or "").split(",") if item.strip()]
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated {kind.__name__} values, got {text!r}", param_hint=hint
        ) from None


def _axes(grid, priors, baseline_list, labeled_fracs, counts, seeds, seeds_for, subtype_sets, contaminations):
    """make_grid's axes from the shorthands; a --grid axis over one of the grid's own fields
    (method, prior, labeled_frac, n_labeled, seed, contamination, labeled_subtypes) replaces its
    shorthand. Removes those fields from ``grid``."""
    prior_list = grid.pop("prior", None) or _split(priors, str, "--priors")
    methods = grid.pop("method", None)
    if methods is None:
        baselines = _split(baseline_list, str, "--baselines")
    else:  # the registry's methods, already checked; AE-FLOW's cells only when asked for
        baselines = [m for m in methods if m in baseline_names_registered()]
        prior_list = prior_list if len(baselines) < len(methods) else []
    unknown = (set(prior_list) - set(prior_names())) | (set(baselines) - set(baseline_names_registered()))
    if unknown:
        raise click.BadParameter(f"unknown priors or baselines {sorted(unknown)}", param_hint="--priors")
    by_count = "n_labeled" in grid or counts is not None
    budgets = grid.pop("n_labeled", None) or grid.pop("labeled_frac", None)
    if budgets is None:
        budgets = (
            _split(counts, int, "--n-labeled")
            if by_count
            else _split(labeled_fracs, float, "--labeled-fracs")
        )
    per_budget = {}
    for item in seeds_for:
        budget, _, chosen = item.partition("=")
        if not budget or not chosen:
            raise click.BadParameter(f"{item!r} is not BUDGET=SEED,SEED,...", param_hint="--seeds-for")
        per_budget[_split(budget, float, "--seeds-for")[0]] = _split(chosen, int, "--seeds-for")
    subtypes = grid.pop("labeled_subtypes", None) or [
        _split(item, str, "--labeled-subtypes") for item in subtype_sets
    ]
    return dict(
        variants=[*prior_list, *baselines],
        budgets=budgets,
        seeds=grid.pop("seed", None) or _split(seeds, int, "--seeds"),
        by_count=by_count,
        seeds_for=per_budget,
        subtype_sets=[tuple(s) for s in subtypes] or [None],
        contaminations=grid.pop("contamination", None) or _split(contaminations, float, "--contaminations"),
    )


def _case(item: str, config_cls: type) -> dict[str, Any]:
    """One ``--case FIELD=V[;FIELD=V]``: fields and single values, read as ``--grid`` reads them."""
    case = {}
    for part in filter(None, (p.strip() for p in item.split(";"))):
        try:
            ((name, values),) = parse_grid([part], config_cls).items()
        except click.BadParameter as error:
            raise click.BadParameter(
                error.message.replace("FIELD=V1,V2", "FIELD=V"), param_hint="--case"
            ) from None
        if len(values) != 1 or name in AXES:
            raise click.BadParameter(
                f"{part!r}: a case sets one value of a field that is not a grid axis", param_hint="--case"
            )
        case[name] = values[0]
    if not case:
        raise click.BadParameter(f"{item!r} sets nothing", param_hint="--case")
    return case


def _product(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the remaining --grid axes (one empty combination without any)."""
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


main.add_command(make_ablate_command())


if __name__ == "__main__":  # pragma: no cover
    main()
