"""Multi-process training with PyTorch DistributedDataParallel, as launched by ``torchrun`` or SLURM.

``flowgmm-ae train`` needs no flag: under ``torchrun`` the environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``...) says so, and :func:`setup` joins the process group with gloo on
the CPU or nccl on CUDA. A single process gets a context of world size 1 whose collectives are
no-ops, so the training loop reads the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from flowgmm_ae.errors import FlowgmmAEError


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank among ``world_size`` processes and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the run folder, logs and shows progress."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (any picklable object)."""
        if not self.active:
            return value
        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def all_gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order (any picklable object)."""
        if not self.active:
            return [value]
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def agree_on_step(self, finite: bool, parts: dict[str, float]) -> tuple[bool, dict[str, float]]:
        """One collective per training step: whether the loss was finite on every rank (then all
        ranks step, else all skip) and the per-term losses averaged over ranks, for logging."""
        if not self.active:
            return finite, parts
        gathered = self.all_gather((bool(finite), parts))
        averaged = {key: float(np.mean([p[key] for _, p in gathered])) for key in parts}
        return all(flag for flag, _ in gathered), averaged

    def main_first(self, work: Callable[[], Any], others_run: bool = True) -> Any:
        """``work()`` on rank 0 first; if it fails there with a user-facing error, every rank raises
        it (nobody hangs). Then the other ranks run ``work()`` too (e.g. loading data from the cache
        rank 0 just filled), or, with ``others_run=False``, receive rank 0's result."""
        if not self.active:
            return work()
        if self.is_main:
            try:
                result = work()
            except Exception as error:  # whatever it is, the other ranks must not wait forever
                self.broadcast((str(error) or type(error).__name__, None))
                raise
            self.broadcast((None, None if others_run else result))
            return result
        message, value = self.broadcast(None)
        if message is not None:
            raise FlowgmmAEError(message)
        return work() if others_run else value


SINGLE = DistContext()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> DistContext:
    """Join the process group that torchrun (or SLURM with the same variables) describes."""
    if not launched_by_torchrun():
        return SINGLE
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(local_rank)
        try:
            dist.init_process_group(backend=backend)
        except (RuntimeError, ValueError) as error:
            raise FlowgmmAEError(f"could not join the {backend} process group: {error}") from error
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, backend=backend)


def device_for(device: torch.device, ctx: DistContext) -> torch.device:
    """One GPU per process under torchrun: ``cuda:LOCAL_RANK``."""
    return torch.device("cuda", ctx.local_rank) if device.type == "cuda" and ctx.active else device


def teardown(ctx: DistContext) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()


def rank_share(indices: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """This rank's share of one global batch: every ``world_size``-th index from ``rank``."""
    return indices[ctx.rank :: ctx.world_size]


def gathered_scores(
    score: Callable[[Any], dict[str, np.ndarray]], images: Any, ctx: DistContext
) -> dict[str, np.ndarray]:
    """``score(images)`` with the images shared out over the ranks and the results put back in
    order on every rank (each scores ``images[rank::world_size]``)."""
    if not ctx.active:
        return score(images)
    count = len(images)
    local = score(images[ctx.rank :: ctx.world_size]) if count > ctx.rank else {}
    parts = ctx.all_gather(local)
    names = next(p for p in parts if p).keys()
    merged = {}
    for name in names:
        values = np.empty(count, dtype=np.float64)
        for rank, part in enumerate(parts):
            if part:
                values[rank :: ctx.world_size] = part[name]
        merged[name] = values
    return merged
