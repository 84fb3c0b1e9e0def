"""Process-level CPU settings: glibc malloc keeps freed memory, and the opt-out is honoured."""

import os
import platform
import subprocess
import sys

import pytest

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Allocate and free a 256 MiB block twenty times, as training steps repeat their allocations, and
# report the fewest minor page faults of the last ten rounds. (With kept memory the first rounds
# may still fault: an aligned request does not fit the block freed just before, until freed blocks
# have merged, which took more than ten rounds in one CI run.)
_PROBE = """
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


def _probe(env_value: str | None) -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if k != "FLOWGMM_AE_MALLOC"}
    if env_value is not None:
        env["FLOWGMM_AE_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not GLIBC, reason="malloc tuning applies to glibc only")
def test_freed_large_blocks_are_reused_without_page_faults():
    applied, faults = _probe(None)
    default_applied, default_faults = _probe("default")
    assert applied and not default_applied
    # 256 MiB is 65,536 pages: glibc as it is maps them afresh; kept memory is reused.
    assert default_faults > 50_000
    assert faults < default_faults / 10
