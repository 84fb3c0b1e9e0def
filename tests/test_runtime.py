"""Process-level CPU settings: the malloc setting applies on glibc, the opt-out is honoured, and the
library never applies it on its own. (Its effect, page faults per reallocation, is measured by
benchmarks/page_faults.py, not asserted here: it depends on the C library, the kernel and the
container.)"""

import os
import platform
import subprocess
import sys

import pytest

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
_PROBE = "from flowgmm_ae.runtime import keep_freed_memory; print(keep_freed_memory(), keep_freed_memory())"


def _applied(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "FLOWGMM_AE_MALLOC"}
    if env_value is not None:
        env["FLOWGMM_AE_MALLOC"] = env_value
    return subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.skipif(not GLIBC, reason="malloc tuning applies to glibc only")
def test_the_setting_applies_once_asked_and_the_opt_out_is_honoured():
    assert _applied(None).split() == ["True", "True"]  # idempotent
    assert _applied("default").split() == ["False", "False"]
