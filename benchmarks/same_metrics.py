"""Check that a code change leaves training results unchanged: train a few small runs (every
method, both priors, PneumoniaMNIST at 16 px, one epoch) with the ``flowgmm-ae`` on PATH, then
compare two such folders metric by metric (wall-clock times excluded).

    python benchmarks/same_metrics.py run OUT_BEFORE     # with the old code installed
    python benchmarks/same_metrics.py run OUT_AFTER      # with the new code
    python benchmarks/same_metrics.py compare OUT_BEFORE OUT_AFTER

Options after ``run OUT`` go to every run, so a change of default can be checked with the old value
spelled out (e.g. ``run OUT_AFTER --contamination-mode add``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COMMON = ["--dataset", "pneumoniamnist", "--image-size", "16", "--epochs", "2", "--min-steps", "0", "--quiet"]
RUNS = {
    "gmm": ["--prior", "gmm", "--labeled-frac", "0.05"],
    "gmm-combined-contaminated": ["--prior", "gmm", "--score", "combined", "--contamination", "0.05"],
    "gaussian": ["--prior", "gaussian", "--labeled-frac", "0"],
    "ae": ["--method", "ae"],
    "cnn": ["--method", "cnn"],
    "deepsad": ["--method", "deepsad"],
    "devnet": ["--method", "devnet"],
    "supervised": ["--method", "supervised"],
}
TIMING_KEYS = {"seconds", "init_seconds"}


def run(out: Path, extra: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, options in RUNS.items():
        if (out / name / "metrics.json").exists():
            continue
        command = ["flowgmm-ae", "train", *COMMON, *options, *extra, "--out", str(out / name)]
        subprocess.run(command, check=True)


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def compare(before: Path, after: Path) -> bool:
    same = True
    for name in RUNS:
        old = _without_timings(json.loads((before / name / "metrics.json").read_text()))
        new = _without_timings(json.loads((after / name / "metrics.json").read_text()))
        verdict = "identical" if old == new else "DIFFERENT"
        same &= old == new
        print(f"{name:<28}{verdict}  (test AUC {old['test']['auc']:.6f} -> {new['test']['auc']:.6f})")
    return same


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(Path(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(0 if compare(Path(sys.argv[2]), Path(sys.argv[3])) else 1)
