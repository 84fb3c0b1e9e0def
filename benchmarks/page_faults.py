"""Minor page faults of a freed-and-reallocated 256 MiB block, with and without the malloc setting
that ``flowgmm-ae`` applies (``flowgmm_ae.keep_freed_memory``): the effect behind the CPU speed-up
measured in ``benchmarks/cpu_speedups.py``. Each setting in fresh processes; glibc only.

    python benchmarks/page_faults.py [--processes 3]

Writes ``benchmarks/results/page_faults.md``. A property of the C library, the kernel (transparent
huge pages) and the container, so it is measured here and not asserted in a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

# Allocate and free a 256 MiB block twenty times, as training steps repeat their allocations, and
# report the fewest minor page faults of the last ten rounds (freed blocks take some rounds to merge).
PROBE = """
import resource
from flowgmm_ae.runtime import keep_freed_memory
applied = keep_freed_memory()
import torch
faults = []
for _ in range(20):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(64 << 20).sum()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, min(faults[10:]))
"""


def probe(malloc: str | None) -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if k != "FLOWGMM_AE_MALLOC"}
    if malloc is not None:
        env["FLOWGMM_AE_MALLOC"] = malloc
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3, help="fresh processes per setting")
    args = parser.parse_args()
    rows = []
    for label, malloc in (
        ("glibc as it is (FLOWGMM_AE_MALLOC=default)", "default"),
        ("keep freed memory", None),
    ):
        runs = [probe(malloc) for _ in range(args.processes)]
        faults = [f for _, f in runs]
        spread = f"{min(faults):,} – {max(faults):,}"
        rows.append(f"| {label} | {runs[0][0]} | {statistics.median(faults):,.0f} | {spread} |")
    text = "\n".join(
        [
            f"# Page faults of a reallocated 256 MiB block ({date.today()}, {platform.libc_ver()[0]} "
            f"{platform.libc_ver()[1]}, {args.processes} processes each)",
            "",
            "`python benchmarks/page_faults.py`; 256 MiB is 65,536 pages of 4 KiB.",
            "",
            "| malloc | setting applied | minor faults per reallocation (median) | range |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )
    out = Path(__file__).parent / "results" / "page_faults.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
