"""Run-folder files, each written to a temporary file and renamed so a crash never leaves half a file.

Weights are stored with safetensors: loading them can never run code, unlike a pickled checkpoint.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file


@contextmanager
def _atomic_target(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path``, renamed onto it when the block succeeds and removed when it
    raises, so a failed write leaves neither half a file nor a stray temporary one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | Path, data: Any) -> Path:
    with _atomic_target(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_to_builtin) + "\n")
    return Path(path)


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]], fieldnames: list[str]) -> Path:
    with _atomic_target(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def save_weights(module: torch.nn.Module, path: str | Path) -> Path:
    """The module's state dict as safetensors (CPU, contiguous copies)."""
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}
    with _atomic_target(path) as tmp:
        save_file(state, str(tmp))
    return Path(path)


def load_weights(module: torch.nn.Module, path: str | Path) -> None:
    """Load safetensors weights saved by :func:`save_weights` into ``module`` (strict)."""
    state = load_file(str(path))
    module.load_state_dict(state, strict=True)


def _to_builtin(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
