"""Tables from run records: mean ± std over seeds, and methods paired with a reference seed by seed.

Rows come from run folders (their config.json and metrics.json, via
``flowgmm_ae.runs.collect_runs``; never their names) or from a committed ``results.csv`` that
``flowgmm-ae ablate`` wrote, so a table can be regenerated without rerunning anything. Group and
filter by any column: every TrainConfig field, ``method`` (a prior's display name, e.g. flowgmm-ae),
``score``, the grid's axes.

    python benchmarks/tables.py summary SOURCE... [--by method,labeled_frac] [--metric auc]
    python benchmarks/tables.py paired SOURCE... --reference method=cnn [--by labeled_frac]
    # SOURCE: an ablate folder, a folder of run folders, or a results.csv; --where FIELD=VALUE filters

``paired`` pairs runs that agree on ``--by`` and on ``--pair`` (default: seed; runs of one seed share
their labeled images) and reports, for every other value of the reference's column: seeds, mean ±
std, the mean paired difference, seeds won, and the exact two-sided Wilcoxon signed-rank p over
seeds (with five seeds it cannot fall below 0.0625).
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
from flowgmm_ae.runs import collect_runs


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def load_rows(sources: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of every source: a results.csv (one row per run: its first threshold policy), or run
    folders."""
    rows: list[dict[str, Any]] = []
    for source in map(Path, sources):
        csv_file = source if source.suffix == ".csv" else source / "results.csv"
        if source.suffix == ".csv" or (csv_file.is_file() and not list(source.rglob("*/metrics.json"))):
            with open(csv_file, newline="") as handle:
                seen: set[str] = set()
                for row in csv.DictReader(handle):
                    if row.get("run") not in seen:
                        seen.add(row.get("run", str(len(seen))))
                        rows.append({k: _number(v) for k, v in row.items()})
        else:
            rows += collect_runs([source])
    return rows


def text(value: Any) -> str:
    """A value as a table shows it and as ``--where`` / ``--reference`` match it."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:g}"
    if isinstance(value, list | tuple):
        return "+".join(map(str, value))
    return "" if value is None else str(value)


def _filtered(rows: list[dict[str, Any]], where: list[str]) -> list[dict[str, Any]]:
    for item in where:
        name, _, value = item.partition("=")
        rows = [r for r in rows if text(r.get(name)) == value]
    return rows


def summary(rows: list[dict[str, Any]], by: list[str], metrics: list[str]) -> str:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(text(row.get(k)) for k in by), []).append(row)
    lines = ["| " + " | ".join([*by, "runs", *metrics]) + " |", "|" + "---|" * (len(by) + 1 + len(metrics))]
    for key, group in groups.items():
        cells = [*key, str(len(group)), *(mean_std([r.get(m, math.nan) for r in group]) for m in metrics)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired(rows: list[dict[str, Any]], reference: str, by: list[str], pair: list[str], metric: str) -> str:
    column, _, wanted = reference.partition("=")
    lines = [
        "| " + " | ".join([*by, column, "seeds", metric, "Δ vs " + wanted, "seeds won", "Wilcoxon p"]) + " |",
        "|" + "---|" * (len(by) + 6),
    ]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(text(row.get(k)) for k in by), []).append(row)
    for key, group in groups.items():
        base = {
            tuple(text(r.get(k)) for k in pair): r[metric] for r in group if text(r.get(column)) == wanted
        }
        lines.append(
            "| "
            + " | ".join([*key, f"**{wanted}**", str(len(base)), mean_std(list(base.values()))])
            + " | – | – | – |"
        )
        others: dict[str, dict[tuple[str, ...], float]] = {}
        for r in group:
            if text(r.get(column)) != wanted:
                others.setdefault(text(r.get(column)), {})[tuple(text(r.get(k)) for k in pair)] = r[metric]
        for name, values in others.items():
            common = sorted(set(values) & set(base))
            diff = np.asarray([values[s] - base[s] for s in common])
            p = wilcoxon(diff, method="exact").pvalue if diff.size and np.any(diff != 0) else math.nan
            won = f"{int((diff > 0).sum())}/{diff.size}"
            delta = f"{diff.mean():+.3f}" if diff.size else "–"
            shown = [
                *key,
                name,
                str(diff.size),
                mean_std([values[s] for s in common]),
                delta,
                won,
                f"{p:.3g}",
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
    parser.add_argument("--where", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--metric", default="auc", help="summary: comma-separated columns; paired: one")
    parser.add_argument("--reference", default="method=cnn", metavar="COLUMN=VALUE")
    parser.add_argument("--pair", default="seed", help="columns whose values pair two runs")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    rows = _filtered(load_rows(args.sources), args.where)
    by = [c for c in args.by.split(",") if c]
    if args.table == "summary":
        table = summary(rows, by, args.metric.split(","))
    else:
        by = [c for c in by if c != args.reference.partition("=")[0]]
        table = paired(rows, args.reference, by, args.pair.split(","), args.metric)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
