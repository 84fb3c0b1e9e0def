"""Ablation grids: priors and baselines × label budgets × seeds × any other cell-defining field
(``ablate --grid``), trained through the same split and metrics.

Each cell is an ordinary run folder under ``OUT/runs/``. A cell whose ``metrics.json`` exists is
finished and is read back, not trained again, once its recorded options agree with the grid's on
every field the schema marks as defining a cell (:func:`cell_identity`); otherwise the grid stops
before training anything. A cell folder without ``metrics.json`` was interrupted and is cleared and
retrained. Variants are priors of AE-FLOW (``gaussian``, ``gmm``) and baselines (``ae``,
``cnn``, ``deepsad``, ``devnet``, ``supervised``). Label-free variants (the Gaussian prior, the
autoencoder) are trained once per seed and shown at every budget as unsupervised references.

Outputs: ``results.csv`` (one row per run and threshold policy), ``results.md`` (mean ± std per
method and budget, with a bootstrap interval for the seed-averaged AUC), ``auc_vs_labels.png``,
``roc.png`` and ``score_hist.png``.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from flowgmm_ae.errors import FlowgmmAEError
from flowgmm_ae.evaluation import read_score_table
from flowgmm_ae.io import read_json, write_csv
from flowgmm_ae.methods import MIXTURE_TERMS, get_method, prior_method_name
from flowgmm_ae.metrics import evaluate, resampled_aucs
from flowgmm_ae.plots import plot_auc_vs_labels, plot_roc, plot_score_histograms
from flowgmm_ae.priors import prior_entry, prior_names
from flowgmm_ae.runs import built_config, score_diagnostics
from flowgmm_ae.schema import declared_fields, prior_only_fields
from flowgmm_ae.training import TrainConfig, train

log = logging.getLogger(__name__)

METRICS = ("auc", "auprc", "f1", "acc", "sen", "spe")
# The fields the grid's own axes set in every cell (variants, budgets, seeds, subtype sets,
# contaminations); ``overrides`` set any other cell-defining field.
AXES = ("method", "prior", "labeled_frac", "n_labeled", "seed", "contamination", "labeled_subtypes")
POLICIES = ("f1", "normal-quantile")


def is_prior(variant: str) -> bool:
    """Whether a grid variant is a registered prior (of AE-FLOW) rather than a method."""
    return variant in prior_names()


def is_label_free(variant: str) -> bool:
    """Whether a variant learns nothing from labels (an unsupervised reference)."""
    if is_prior(variant):
        return not prior_entry(variant).uses_labels
    return not get_method(variant).uses_labels(TrainConfig(method=variant))


@dataclass(frozen=True)
class Cell:
    """One training run of the grid: ``variant`` is a prior (gaussian, gmm) or a baseline name;
    ``labeled_subtypes`` (labels drawn from these anomaly subtypes only) and ``contamination``
    (hidden anomalies in the unlabeled pool) are the grid's optional data axes; ``overrides`` the
    values of any other axis (``--grid``)."""

    variant: str
    budget: float | int  # labeled fraction, or number of labels when ``by_count``
    seed: int
    by_count: bool = False
    labeled_subtypes: tuple[str, ...] | None = None
    contamination: float = 0.0
    overrides: tuple[tuple[str, Any], ...] = ()  # other fields' values: ablate --grid FIELD=...

    @property
    def method(self) -> str:
        """The variant's name in tables (a prior's display name, e.g. flowgmm-ae for gmm)."""
        return prior_entry(self.variant).display_name if is_prior(self.variant) else self.variant

    @property
    def unsupervised(self) -> bool:
        return is_label_free(self.variant)

    @property
    def setting(self) -> str:
        """The data axes in words ("" at the defaults: every subtype labelable, a clean pool)."""
        parts = []
        if self.labeled_subtypes is not None:
            parts.append(f"labels from {'+'.join(self.labeled_subtypes)}")
        if self.contamination:
            parts.append(f"contamination {self.contamination:g}")
        parts += [f"{name}={_text(value)}" for name, value in self.overrides]
        return ", ".join(parts)

    @property
    def name(self) -> str:
        budget = f"n{self.budget}" if self.by_count else f"f{self.budget:g}"
        only = f"-only-{'+'.join(self.labeled_subtypes)}" if self.labeled_subtypes is not None else ""
        dirty = f"-c{self.contamination:g}" if self.contamination else ""
        axes = "".join(f"-{name}={_text(value)}" for name, value in self.overrides)
        return f"{self.variant}{only}{dirty}{axes}-{budget}-s{self.seed}"

    def config(self, base: TrainConfig, out_dir: Path) -> TrainConfig:
        labels = {"n_labeled": int(self.budget)} if self.by_count else {"labeled_frac": float(self.budget)}
        if self.by_count:
            labels["labeled_frac"] = 0.0
        if is_prior(self.variant):
            variant = {"method": prior_method_name(), "prior": self.variant}
        else:
            variant = {"method": self.variant, "score": "auto"}
        if not is_prior(self.variant) or self.unsupervised:
            variant.update(dict.fromkeys(MIXTURE_TERMS, 0.0))  # they belong to a label-using prior
        subtypes = list(self.labeled_subtypes) if self.labeled_subtypes is not None else None
        return replace(
            replace(base, **dict(self.overrides)),
            seed=self.seed,
            out=str(out_dir / "runs" / self.name),
            progress=False,
            labeled_subtypes=subtypes,
            contamination=self.contamination,
            **variant,
            **labels,
        )


def _text(value: Any) -> str:
    """A grid value as it appears in a cell's name."""
    if isinstance(value, list | tuple):
        return "+".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def make_grid(
    variants: Sequence[str],
    budgets: Sequence[float | int],
    seeds: Sequence[int],
    by_count: bool = False,
    seeds_for: dict[float, Sequence[int]] | None = None,
    subtype_sets: Sequence[tuple[str, ...] | None] = (None,),
    contaminations: Sequence[float] = (0.0,),
    overrides: Sequence[dict[str, Any]] = ({},),
) -> list[Cell]:
    """Every cell. Label-free variants (gaussian prior, ae) get one cell per seed at budget 0;
    label-using baselines skip budget 0 (without labels they have nothing to learn from).
    ``seeds_for`` gives some budgets their own seeds (e.g. five seeds at 5 %); label-free variants
    then run every seed that any budget uses. Every cell is repeated for each contamination and,
    except the label-free ones, for each set of labeled subtypes, and for each of ``overrides``
    (values of other fields: the combinations of ``ablate --grid``)."""
    clash = sorted({name for combination in overrides for name in combination} & set(AXES))
    if clash:
        raise FlowgmmAEError(f"{', '.join(clash)} are the grid's own axes, not overrides")
    cells = _grid_cells(variants, budgets, seeds, by_count, seeds_for, subtype_sets, contaminations)
    combined = [
        replace(cell, overrides=_applicable(cell, combination)) for combination in overrides for cell in cells
    ]
    return list(dict.fromkeys(combined))  # a baseline's cell is one cell under every prior-only value


def _applicable(cell: Cell, combination: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The overrides that apply to ``cell``: a baseline takes no prior-and-pool field, and its own
    score (as ``Cell.config`` gives it)."""
    if is_prior(cell.variant):
        return tuple(sorted(combination.items()))
    ignored = prior_only_fields(TrainConfig) | {"score"}
    return tuple(sorted((k, v) for k, v in combination.items() if k not in ignored))


def _grid_cells(
    variants: Sequence[str],
    budgets: Sequence[float | int],
    seeds: Sequence[int],
    by_count: bool,
    seeds_for: dict[float, Sequence[int]] | None,
    subtype_sets: Sequence[tuple[str, ...] | None],
    contaminations: Sequence[float],
) -> list[Cell]:
    seeds_for = seeds_for or {}
    every_seed = sorted({*seeds, *(s for chosen in seeds_for.values() for s in chosen)})
    cells: list[Cell] = []
    for contamination in contaminations:
        for variant in variants:
            if is_label_free(variant):
                cells += [Cell(variant, 0, s, by_count, None, contamination) for s in every_seed]
                continue
            variant_budgets = list(budgets) if is_prior(variant) else [b for b in budgets if b > 0]
            cells += [
                Cell(variant, b, s, by_count, subtypes if b else None, contamination)
                for subtypes in (subtype_sets if any(variant_budgets) else (None,))
                for b in variant_budgets
                for s in seeds_for.get(b, seeds)
            ]
    return list(dict.fromkeys(cells))  # a budget-0 prior cell is the same under every subtype set


def _read_scores(path: Path, score: str) -> tuple[np.ndarray, np.ndarray]:
    table = read_score_table(path)
    return table.labels, table.scores[score]


def cell_identity(config: TrainConfig) -> dict[str, Any]:
    """What identifies a finished cell: every field the schema marks as defining a cell (those only
    a method with a prior reads, only for such a method), with ``score``, ``pool`` and the
    assumed contamination as the run resolves them."""
    uses_prior = get_method(config.method).uses_priors
    identity = {
        field.name: getattr(config, field.name)
        for field in declared_fields(type(config))
        if field.setting.cell and (uses_prior or not field.setting.for_prior_methods_only)
    }
    identity["score"] = config.resolved_score()
    if uses_prior:
        identity["encoder_objective"] = config.resolved_encoder_objective()
        identity["beta"] = config.resolved_beta()
        identity["pretrain_fraction"] = config.resolved_pretrain_fraction()
        identity["encoder_lr_scale"] = config.resolved_encoder_lr_scale()
        identity.update(pool=config.pool_objective(), assumed_contamination=config.pool_contamination())
    return identity


def check_finished_cell(run_dir: Path, wanted: TrainConfig) -> None:
    """Refuse to reuse a finished run folder trained with other options than the grid asks for
    (say, a resumed grid whose --score or --epochs changed): its numbers would be mislabeled."""
    record = read_json(run_dir / "config.json")
    have, want = cell_identity(built_config(record)), cell_identity(wanted)
    in_channels = record.get("model", {}).get("in_channels")
    if in_channels is not None:  # the latent as built against the one the grid would build now
        want["stride"] = wanted.resolved_stride(in_channels)
    want["latent_channels"] = wanted.resolved_latent_channels()
    if wanted.n_labeled is None:  # a fraction's budget: the record holds the count it drew
        have.pop("n_labeled"), want.pop("n_labeled")
    differ = {name: (have.get(name), want[name]) for name in want if have.get(name) != want[name]}
    if differ:
        listed = ", ".join(f"{name}={old!r} (grid: {new!r})" for name, (old, new) in differ.items())
        raise FlowgmmAEError(
            f"{run_dir} was trained with {listed}: use another --out, or delete that folder to retrain it"
        )


def run_cell(cell: Cell, base: TrainConfig, out_dir: Path) -> Path:
    """Train the cell unless its run folder is already finished (whose options
    :func:`check_finished_cell` has checked); returns the folder."""
    run_dir = out_dir / "runs" / cell.name
    if (run_dir / "metrics.json").is_file():
        return run_dir
    if run_dir.exists():
        log.warning(f"{cell.name} was interrupted: clearing {run_dir} and training it again")
        shutil.rmtree(run_dir)
    train(cell.config(base, out_dir))
    return run_dir


def cell_rows(
    cell: Cell, run_dir: Path, normal_quantile: float, axes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """One row per threshold policy, recomputed from the run's stored validation and test scores.
    ``axes``: the fields any cell of the grid overrides, a column each, read from the run's record
    (so the cells that keep the given value show it too); ``latent_channels`` and ``stride`` are
    always columns, as built (a run that left them to the defaults got values that depend on the
    images and the release), so grids can be paired by the latent they trained."""
    metrics = read_json(run_dir / "metrics.json")
    config = read_json(run_dir / "config.json")
    built = built_config(config)
    latent = {name: getattr(built, name) for name in ("latent_channels", "stride")}
    score = metrics["score"]
    val_labels, val_scores = _read_scores(run_dir / "val_scores.csv", score)
    test_labels, test_scores = _read_scores(run_dir / "scores.csv", score)
    labels = metrics.get("labels", {"train": config["n_labeled"], "validation": "", "total": ""})
    selection = metrics.get("selection", {})
    subtypes = metrics.get("subtypes", {})
    rows = []
    for policy in POLICIES:
        if policy == "f1" and not (val_labels == 1).any():
            continue
        result = evaluate(val_labels, val_scores, test_labels, test_scores, policy, normal_quantile)["test"]
        rows.append(
            {
                "method": cell.method,
                "setting": cell.setting,
                **{name: _text(config.get(name)) for name in axes if name not in latent},  # --grid axes
                **latent,
                "variant": cell.variant,
                "labeled_frac": config["labeled_frac"] if not cell.by_count else "",
                "n_labels": config["n_labeled"],
                "n_val_labels": labels["validation"],
                "n_labels_total": labels["total"],
                "budget": f"{cell.budget:g}",
                "seed": cell.seed,
                "contamination": config.get("contamination", 0.0),
                "score": score,
                "threshold_policy": result["threshold_policy"],
                **{m: result[m] for m in METRICS},
                "val_auc": metrics["val"]["auc"],
                # Diagnostics of the selection rule (nothing was chosen from them; see training.py).
                "val_auc_all_labels": selection.get("last", {}).get("val_auc_all_labels", math.nan),
                "test_auc_last": selection.get("last", {}).get("test_auc", math.nan),
                "test_auc_best_val": selection.get("best_val", {}).get("test_auc", math.nan),
                "test_auc_best_val_all": selection.get("best_val_all_labels", {}).get("test_auc", math.nan),
                "auc_seen": subtypes.get("seen", {}).get("auc", math.nan),
                "auc_unseen": subtypes.get("unseen", {}).get("auc", math.nan),
                "selected_epoch": metrics["training"]["selected_epoch"],
                "wall_s": metrics["training"]["seconds"],
                **score_diagnostics(metrics),
                "run": str(run_dir),
            }
        )
    return rows


def seed_averaged_auc_interval(
    run_dirs: Sequence[Path], score: str, n_resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the mean AUC over seeds, resampling test images
    (every seed's run scores the same test images, so one resample serves all of them)."""
    data = [_read_scores(d / "scores.csv", score) for d in run_dirs]
    labels = data[0][0]
    indices = np.random.default_rng(seed).integers(0, len(labels), (n_resamples, len(labels)))
    means = np.mean([resampled_aucs(lab, sc, indices) for lab, sc in data], axis=0)
    low, high = np.nanpercentile(means, [2.5, 97.5])
    return float(low), float(high)


def mean_std(values: Sequence[float]) -> str:
    """``mean ± std`` (sample std) to three decimals; "–" when no value is there ("" or NaN)."""
    array = np.asarray([np.nan if v == "" else v for v in values], dtype=float)
    if np.isnan(array).all():
        return "–"
    std = array.std(ddof=1) if len(array) > 1 else 0.0
    return f"{array.mean():.3f} ± {std:.3f}"


def summarise(rows: list[dict[str, Any]], cells: list[Cell], run_dirs: dict[Cell, Path]) -> str:
    """The Markdown tables of results.md: one per threshold policy, then test AUC per anomaly
    subtype when the data set has subtypes."""
    with_setting = any(r["setting"] for r in rows)
    with_seen = any(np.isfinite(float(r["auc_seen"])) for r in rows)
    lines = []
    for policy in sorted({r["threshold_policy"] for r in rows}):
        header = [
            "method",
            *(["setting"] if with_setting else []),
            "budget",
            "labels",
            "seeds",
            *[m.upper() for m in METRICS],
            *(["seen AUC", "unseen AUC"] if with_seen else []),
            "AUC 95 % CI",
            "val AUC",
            "val AUC, all val labels*",
            "test AUC, best on val*",
            "test AUC, last epoch*",
            "wall s",
        ]
        lines += [f"### Threshold policy: {policy}", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        groups: dict[tuple[str, str, Any], list[dict[str, Any]]] = {}
        for row in rows:
            if row["threshold_policy"] == policy:
                groups.setdefault((row["method"], row["setting"], row["budget"]), []).append(row)
        for (method, setting, budget), group in groups.items():
            dirs = [
                run_dirs[c]
                for c in cells
                if (c.method, c.setting, f"{c.budget:g}") == (method, setting, budget)
            ]
            low, high = seed_averaged_auc_interval(dirs, group[0]["score"])
            first = group[0]
            labels = (
                f"{first['n_labels']} + {first['n_val_labels']} = {first['n_labels_total']}"
                if first["n_labels_total"] != ""
                else str(first["n_labels"])
            )
            cells_text = [
                method,
                *([setting or "–"] if with_setting else []),
                str(budget),
                labels,
                str(len(group)),
                *[mean_std([r[m] for r in group]) for m in METRICS],
                *([mean_std([r[m] for r in group]) for m in ("auc_seen", "auc_unseen")] if with_seen else []),
                f"[{low:.3f}, {high:.3f}]",
                *[
                    mean_std([r[m] for r in group])
                    for m in ("val_auc", "val_auc_all_labels", "test_auc_best_val", "test_auc_last")
                ],
                f"{np.mean([r['wall_s'] for r in group]):.0f}",
            ]
            lines.append("| " + " | ".join(cells_text) + " |")
        lines.append("")
    return "\n".join(lines + subtype_table(cells, run_dirs))


def subtype_table(cells: list[Cell], run_dirs: dict[Cell, Path]) -> list[str]:
    """Markdown lines: mean ± std over seeds of the test AUC of each anomaly subtype against every
    normal image (``metrics.json`` ``subtypes``); nothing when the data set has no subtypes."""
    per_cell = {cell: read_json(run_dirs[cell] / "metrics.json").get("subtypes", {}) for cell in cells}
    names = sorted({n for entry in per_cell.values() for n in entry} - {"seen", "unseen"})
    if not names:
        return []
    lines = [
        "### Test AUC per anomaly subtype (each against every normal image)",
        "",
        "| method | setting | budget | seeds | " + " | ".join(names) + " |",
        "|" + "---|" * (4 + len(names)),
    ]
    groups: dict[tuple[str, str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.method, cell.setting, f"{cell.budget:g}"), []).append(cell)
    for (method, setting, budget), group in groups.items():
        aucs = [mean_std([per_cell[c].get(name, {}).get("auc", math.nan) for c in group]) for name in names]
        lines.append(f"| {method} | {setting or '–'} | {budget} | {len(group)} | " + " | ".join(aucs) + " |")
    return [*lines, ""]


def run_ablation(
    out_dir: str | Path,
    base: TrainConfig,
    variants: Sequence[str] = ("gaussian", "gmm"),
    budgets: Sequence[float | int] = (0, 0.01, 0.05, 0.1),
    seeds: Sequence[int] = (0, 1, 2),
    by_count: bool = False,
    plot_budget: float | int | None = None,
    echo: Callable[[str], None] = print,
    seeds_for: dict[float, Sequence[int]] | None = None,
    subtype_sets: Sequence[tuple[str, ...] | None] = (None,),
    contaminations: Sequence[float] = (0.0,),
    overrides: Sequence[dict[str, Any]] = ({},),
) -> list[dict[str, Any]]:
    """Train (or reuse) every cell, then write results.csv, results.md and the figures."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = make_grid(variants, budgets, seeds, by_count, seeds_for, subtype_sets, contaminations, overrides)
    for cell in cells:  # every cell's options, and every finished cell's record, before any training
        config = cell.config(base, out_dir)
        config.validate()
        if (out_dir / "runs" / cell.name / "metrics.json").is_file():
            check_finished_cell(out_dir / "runs" / cell.name, config)
    run_dirs: dict[Cell, Path] = {}
    started, trained = time.perf_counter(), 0
    for i, cell in enumerate(cells, 1):
        finished = (out_dir / "runs" / cell.name / "metrics.json").is_file()
        elapsed = time.perf_counter() - started
        remaining = sum(
            1 for c in cells[i - 1 :] if not (out_dir / "runs" / c.name / "metrics.json").is_file()
        )
        eta = f", about {elapsed / trained * remaining / 60:.0f} min left" if trained else ""
        echo(f"[{i}/{len(cells)}] {cell.name}: {'done, reused' if finished else 'training'}{eta}")
        run_dirs[cell] = run_cell(cell, base, out_dir)
        trained += not finished
    axes = list(dict.fromkeys(name for cell in cells for name, _ in cell.overrides))
    rows = [row for cell in cells for row in cell_rows(cell, run_dirs[cell], base.normal_quantile, axes)]
    write_csv(out_dir / "results.csv", rows, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
    title = (
        f"# Ablation on {base.dataset}\n\nTest metrics, thresholds and checkpoints chosen on validation "
        f"(--val-labels {base.val_labels}, --select {base.select}). Labels: anomaly labels used in training "
        "+ in validation = total. Columns marked * are diagnostics that chose nothing: validation AUC "
        "(last epoch) with every validation anomaly label, and test AUC had the epoch best on the run's "
        "validation, or the last epoch, been kept.\n\n"
    )
    (out_dir / "results.md").write_text(title + summarise(rows, cells, run_dirs))
    _plots(out_dir, rows, cells, run_dirs, plot_budget)
    return rows


def _plots(
    out_dir: Path,
    rows: list[dict[str, Any]],
    cells: list[Cell],
    run_dirs: dict[Cell, Path],
    plot_budget: float | int | None,
) -> None:
    policy_rows = [
        {**r, "method": f"{r['method']} ({r['setting']})" if r["setting"] else r["method"]}
        for r in rows
        if r["threshold_policy"] == rows[0]["threshold_policy"]
    ]
    plot_auc_vs_labels(policy_rows, out_dir / "auc_vs_labels.png")
    budgets = sorted({c.budget for c in cells if not c.unsupervised}) or [0]
    budget = plot_budget if plot_budget is not None else budgets[len(budgets) // 2]
    seed = min(c.seed for c in cells)
    chosen = [c for c in cells if c.seed == seed and (c.budget == budget or c.unsupervised)]
    labels, scores = None, {}
    for cell in chosen:
        score = read_json(run_dirs[cell] / "metrics.json")["score"]
        labels, values = _read_scores(run_dirs[cell] / "scores.csv", score)
        scores[f"{cell.method} ({cell.name})"] = values
    if labels is not None and not math.isnan(float(labels.mean())):
        plot_roc(labels, scores, out_dir / "roc.png", f"test ROC, budget {budget}, seed {seed}")
        plot_score_histograms(labels, scores, out_dir / "score_hist.png")
