"""An ablation's tables as if every run had kept its last epoch (``--select last``).

Training does not depend on the selection rule (the rule only picks which weights to keep at the
end), so evaluating each run's ``last.safetensors`` gives exactly what ``--select last`` would
have: thresholds from the same label-budgeted validation images, metrics on the same test split.
Each run's evaluation goes to ``RUN/last_epoch/`` (a run folder of its own: config, metrics, scores),
and the tables to ``ABLATION_DIR/last_epoch/results.{md,csv}``.

    python benchmarks/rescore_last_epoch.py benchmarks/results/detection_chestxray2017_32px_e25_honest

About 3 s per 32 px run on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from flowgmm_ae.ablation import Cell, cell_rows, summarise
from flowgmm_ae.evaluation import evaluate_run, write_evaluation
from flowgmm_ae.io import read_json, write_csv

NAME = re.compile(r"^(?P<variant>.+)-(?P<by>[fn])(?P<budget>[0-9.]+)-s(?P<seed>\d+)$")


def rescore(run: Path) -> Path:
    """``run``'s last epoch evaluated into ``run/last_epoch`` (reused when already there)."""
    target = run / "last_epoch"
    if (target / "metrics.json").is_file():
        return target
    evaluation = evaluate_run(run, weights="last")
    original = read_json(run / "metrics.json")
    metrics = {
        **evaluation.metrics,
        "labels": original.get("labels"),
        "selection": original.get("selection"),
        "training": {**original["training"], "selected_epoch": original["training"]["epochs"]},
    }
    write_evaluation(target, evaluation, metrics)
    shutil.copy(run / "config.json", target / "config.json")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ablation_dir", type=Path)
    args = parser.parse_args()
    cells, run_dirs = [], {}
    for run in sorted(args.ablation_dir.glob("runs/*")):
        match = NAME.match(run.name)
        if not match or not (run / "metrics.json").is_file():
            continue
        budget = float(match["budget"]) if match["by"] == "f" else int(match["budget"])
        cell = Cell(match["variant"], budget, int(match["seed"]), by_count=match["by"] == "n")
        cells.append(cell)
        run_dirs[cell] = rescore(run)
        print(f"{run.name}: test AUC {read_json(run_dirs[cell] / 'metrics.json')['test']['auc']:.4f}")
    config = read_json(next(iter(run_dirs.values())) / "config.json")
    rows = [row for cell in cells for row in cell_rows(cell, run_dirs[cell], config["normal_quantile"])]
    out = args.ablation_dir / "last_epoch"
    out.mkdir(exist_ok=True)
    write_csv(out / "results.csv", rows, fieldnames=list(rows[0]))
    title = (
        f"# {args.ablation_dir.name}, every run's last epoch (--select last)\n\n"
        "The same runs as ../results.md, each evaluated at its last epoch (rescore_last_epoch.py); "
        "thresholds from the same label-budgeted validation images.\n\n"
    )
    (out / "results.md").write_text(title + summarise(rows, cells, run_dirs))
    print(f"wrote {out / 'results.md'}")


if __name__ == "__main__":
    main()
