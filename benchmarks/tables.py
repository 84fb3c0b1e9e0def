"""Tables from run records: mean ± std over seeds, and methods paired with a reference seed by seed.

Rows come from run folders (their config.json and metrics.json, via
``flowgmm_ae.runs.collect_runs``; never their names) or from a committed ``results.csv`` that
``flowgmm-ae ablate`` wrote, so a table can be regenerated without rerunning anything. Group and
filter by any column: every TrainConfig field, ``method`` (a prior's display name, e.g. flowgmm-ae),
``score``, the grid's axes.

    python benchmarks/tables.py summary SOURCE... [--by method,labeled_frac] [--metric auc]
    python benchmarks/tables.py paired SOURCE... --reference method=cnn [--by labeled_frac]
    # SOURCE: an ablate folder, a folder of run folders, or a results.csv; --where FIELD=VALUE
    # keeps the rows that match, --where FIELD!=VALUE the rows that do not; SOURCE#FIELD=VALUE
    # (several joined by '#') filters that source's rows only, e.g. another grid's method=ae
    python benchmarks/tables.py paired SOURCE... --reference method=cnn --bootstrap 1000
    python benchmarks/tables.py paired SOURCE... --melt test_auc_best_val,test_auc_last \
        --reference measure=test_auc_best_val --metric value   # two columns of the same runs

``paired`` pairs runs that agree on ``--by`` and on ``--pair`` (default: seed; runs of one seed share
their labeled images) and reports, for every other value of the reference's column (or columns:
``--reference norm=group,measure=test_auc[combined]``): seeds, mean ±
std, the mean paired difference, seeds won, and the exact two-sided Wilcoxon signed-rank p over
seeds (with five seeds it cannot fall below 0.0625). ``--show`` adds mean ± std columns (minutes,
say). ``--bootstrap N`` adds the test-set noise of Δ: a paired bootstrap over test images within each
seed (both runs of a seed scored on the same resampled images), averaged over seeds; it reads each
run's scores.csv, so it needs the run folders. ``--melt A,B`` turns columns A and B of every row into
two rows (``measure`` = the column's name, ``value`` = its value), so that two measures of the same
runs can be paired (checkpoint rules, or a run's scores: ``test_auc[flow]``, ``test_auc[recon]``).
"""

from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import wilcoxon

from flowgmm_ae.ablation import mean_std
from flowgmm_ae.evaluation import read_score_table
from flowgmm_ae.metrics import paired_bootstrap_auc_difference
from flowgmm_ae.runs import collect_runs, read_config, train_config_from_record


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def load_rows(sources: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of every source: a CSV file (of ablate's results.csv, one row per run: its first
    threshold policy), or run folders; ``SOURCE#FIELD=VALUE#...`` keeps only that source's rows
    that match (as ``--where`` does for every source)."""
    rows: list[dict[str, Any]] = []
    for item in sources:
        path, *where = item.split("#")
        rows += _filtered(_source_rows(Path(path)), where)
    return rows


def _source_rows(source: Path) -> list[dict[str, Any]]:
    """The rows of one source, unfiltered."""
    csv_file = source if source.suffix == ".csv" else source / "results.csv"
    if source.suffix != ".csv" and (not csv_file.is_file() or list(source.rglob("*/metrics.json"))):
        return collect_runs([source])
    rows: list[dict[str, Any]] = []
    with open(csv_file, newline="") as handle:
        seen: set[str] = set()
        for row in csv.DictReader(handle):
            # ablate's results.csv has a row per threshold policy: keep a run's first
            if "threshold_policy" in row and row.get("run") in seen:
                continue
            seen.add(row.get("run", ""))
            values = {k: _number(v) for k, v in row.items()}
            if "minutes" not in values and isinstance(values.get("wall_s"), float):
                values["minutes"] = values["wall_s"] / 60  # as collect_runs names it
            rows.append(values)
    return rows


def text(value: Any) -> str:
    """A value as a table shows it and as ``--where`` / ``--reference`` match it."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    if isinstance(value, list | tuple):
        return "+".join(map(str, value))
    return "" if value is None else str(value)


def _filtered(rows: list[dict[str, Any]], where: list[str]) -> list[dict[str, Any]]:
    """The rows that match every ``FIELD=VALUE`` and miss every ``FIELD!=VALUE``."""
    for item in where:
        name, _, value = item.partition("=")
        if name.endswith("!"):
            rows = [r for r in rows if text(r.get(name[:-1])) != value]
        else:
            rows = [r for r in rows if text(r.get(name)) == value]
    return rows


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def melt(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """Each row once per column in ``columns``, as ``measure`` (its name) and ``value``."""
    return [{**row, "measure": name, "value": row.get(name, math.nan)} for row in rows for name in columns]


def _score_of(row: dict[str, Any]) -> str:
    """The score a row's metric is of: a melted ``test_auc[NAME]``'s NAME, else the run's own."""
    measure = str(row.get("measure", ""))
    if measure.startswith("test_auc[") and measure.endswith("]"):
        return measure[len("test_auc[") : -1]
    return str(row["score"])


def _bootstrap_images(
    metric: str, row: dict[str, Any], labels: np.ndarray, subtypes: list[str] | None
) -> np.ndarray:
    """Which test images the metric's AUC is taken over: all of them for ``auc`` (and a melted
    ``test_auc[SCORE]``), the normals and the unseen (or seen) subtypes' anomalies for
    ``auc_unseen`` (``auc_seen``; the labeled subtypes read from the run's config.json, so a
    results.csv source works too), the normals and one subtype's anomalies for ``auc:SUBTYPE``."""
    measure = str(row.get("measure", ""))
    if metric == "auc" or (metric == "value" and measure.startswith("test_auc[")):
        return np.ones(labels.shape, dtype=bool)
    if metric in ("auc_seen", "auc_unseen") or metric.startswith("auc:"):
        if subtypes is None:
            raise SystemExit(f"--bootstrap of {metric} needs subtypes in {row['run']}/scores.csv")
        kinds = np.asarray(subtypes, dtype=object)
        if metric.startswith("auc:"):
            chosen = kinds == metric[len("auc:") :]
        else:
            labeled = train_config_from_record(read_config(str(row["run"]))).labeled_subtypes
            if not labeled:
                raise SystemExit(
                    f"{metric} needs a run whose labels came from named subtypes; {row['run']} has none"
                )
            seen = np.isin(kinds, list(labeled))
            chosen = seen if metric == "auc_seen" else ~seen
        return (labels == 0) | ((labels == 1) & chosen)
    raise SystemExit(
        f"--bootstrap covers test AUC metrics (auc, auc_seen, auc_unseen, auc:SUBTYPE), not {metric}"
    )


def _bootstrap_cell(runs: list[tuple[dict[str, Any], dict[str, Any]]], n_resamples: int, metric: str) -> str:
    """The test-image bootstrap interval of the seed-averaged difference in ``metric`` (a test AUC)
    of paired runs."""
    pairs = []
    for row, base in runs:
        tables = []
        for r in (row, base):
            folder = Path(str(r.get("run", "")))
            if not (folder / "scores.csv").is_file():
                raise SystemExit(f"--bootstrap needs the run folders' scores.csv; {folder} has none")
            tables.append(read_score_table(folder / "scores.csv"))
        if not np.array_equal(tables[0].labels, tables[1].labels):
            raise SystemExit(f"{row['run']} and {base['run']} did not score the same test images")
        images = _bootstrap_images(metric, row, tables[0].labels, tables[0].subtypes)
        pairs.append(
            (
                tables[0].labels[images],
                *(t.scores[_score_of(r)][images] for t, r in zip(tables, (row, base), strict=True)),
            )
        )
    _, low, high = paired_bootstrap_auc_difference(pairs, n_resamples)
    return f"[{low:+.3f}, {high:+.3f}]"


def summary(rows: list[dict[str, Any]], by: list[str], metrics: list[str]) -> str:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(text(row.get(k)) for k in by), []).append(row)
    lines = ["| " + " | ".join([*by, "runs", *metrics]) + " |", "|" + "---|" * (len(by) + 1 + len(metrics))]
    for key, group in groups.items():
        cells = [*key, str(len(group)), *(mean_std([r.get(m, math.nan) for r in group]) for m in metrics)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reference_columns(reference: str) -> tuple[list[str], str]:
    """``COLUMN=VALUE[,COLUMN=VALUE...]`` -> the columns and the reference's name (values joined)."""
    items = [item.partition("=") for item in reference.split(",")]
    if any(not column or not sep for column, sep, _ in items):
        raise SystemExit(f"--reference {reference!r}: write COLUMN=VALUE[,COLUMN=VALUE...]")
    return [column for column, _, _ in items], ", ".join(value for _, _, value in items)


def _refuse_ambiguous_pairs(
    group: list[dict[str, Any]], name_of: Any, pair: list[str], by: list[str]
) -> None:
    """Two runs under one name and pair key would overwrite each other silently: refuse."""
    seen: dict[tuple[str, ...], str] = {}
    for row in group:
        key = (name_of(row), *(text(row.get(k)) for k in pair))
        if key in seen:
            raise SystemExit(
                f"{seen[key]} and {row.get('run', '?')} share {key}: add the column that tells them "
                f"apart to --by (now {','.join(by) or 'empty'}) or to --reference"
            )
        seen[key] = str(row.get("run", "?"))


def paired(
    rows: list[dict[str, Any]],
    reference: str,
    by: list[str],
    pair: list[str],
    metric: str,
    show: list[str] = (),
    bootstrap: int = 0,
) -> str:
    columns, wanted = reference_columns(reference)
    wanted_shown = wanted or "(blank)"
    name_of = lambda row: ", ".join(text(row.get(c)) for c in columns)  # noqa: E731
    extra = ["test-image 95 % CI of Δ"] if bootstrap else []
    header = [
        *by,
        "+".join(columns),
        "seeds",
        metric,
        "Δ vs " + wanted_shown,
        "seeds won",
        "Wilcoxon p",
        *extra,
        *show,
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(text(row.get(k)) for k in by), []).append(row)
    for key, group in groups.items():
        _refuse_ambiguous_pairs(group, name_of, pair, by)
        base_rows = {tuple(text(r.get(k)) for k in pair): r for r in group if name_of(r) == wanted}
        base = {k: r[metric] for k, r in base_rows.items() if _finite(r.get(metric))}
        if not base:  # nothing in this group to pair with
            continue
        shown_base = [mean_std([r.get(m, math.nan) for r in base_rows.values()]) for m in show]
        lines.append(
            "| "
            + " | ".join(
                [*key, f"**{wanted_shown}**", str(len(base)), mean_std(list(base.values())), "–", "–", "–"]
                + ["–"] * len(extra)
                + shown_base
            )
            + " |"
        )
        others: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
        for r in group:
            if name_of(r) != wanted:
                others.setdefault(name_of(r), {})[tuple(text(r.get(k)) for k in pair)] = r
        for name, runs in others.items():
            values = {k: r[metric] for k, r in runs.items() if _finite(r.get(metric))}
            common = sorted(set(values) & set(base))
            diff = np.asarray([values[s] - base[s] for s in common])
            p = wilcoxon(diff, method="exact").pvalue if diff.size and np.any(diff != 0) else math.nan
            won = f"{int((diff > 0).sum())}/{diff.size}" if diff.size else "–"
            delta = f"{diff.mean():+.3f}" if diff.size else "–"
            shown = [
                *key,
                name,
                str(diff.size),
                mean_std([values[s] for s in common]),
                delta,
                won,
                f"{p:.3g}",
                *(
                    [_bootstrap_cell([(runs[s], base_rows[s]) for s in common], bootstrap, metric)]
                    if bootstrap
                    else []
                ),
                *(mean_std([runs[s].get(m, math.nan) for s in common]) for m in show),
            ]
            lines.append("| " + " | ".join(shown) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=["summary", "paired"])
    parser.add_argument(
        "sources", nargs="+", help="ablate folders, folders of run folders, or results.csv files"
    )
    parser.add_argument(
        "--by",
        default="method,labeled_frac",
        help="columns that group the rows (paired: besides the reference's)",
    )
    parser.add_argument("--where", action="append", default=[], metavar="FIELD=VALUE or FIELD!=VALUE")
    parser.add_argument("--metric", default="auc", help="summary: comma-separated columns; paired: one")
    parser.add_argument(
        "--reference", default="method=cnn", metavar="COLUMN=VALUE", help="several: COL=V,COL2=V2"
    )
    parser.add_argument("--pair", default="seed", help="columns whose values pair two runs")
    parser.add_argument("--show", default="", help="paired: columns shown as mean ± std (e.g. minutes)")
    parser.add_argument("--melt", default="", help="columns turned into rows of measure / value")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="N",
        help="paired: N test-image resamples (needs run folders)",
    )
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    rows = load_rows(args.sources)
    if args.melt:
        rows = melt(rows, args.melt.split(","))
    rows = _filtered(rows, args.where)
    by = [c for c in args.by.split(",") if c]
    if args.table == "summary":
        table = summary(rows, by, args.metric.split(","))
    else:
        by = [c for c in by if c not in reference_columns(args.reference)[0]]
        show = [c for c in args.show.split(",") if c]
        table = paired(rows, args.reference, by, args.pair.split(","), args.metric, show, args.bootstrap)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
