"""Feeding the training loop: this process's share of each global batch of unlabeled images,
read from the split (possibly memory-mapped), optionally prefetched by worker threads.

Prefetching only reads ahead in the epoch's fixed order, so results are identical with and
without workers. Reading a batch is a copy out of the (page-cached) decoded images, small next to
a training step on the CPU; worker threads overlap it with the step where the step is short (GPUs).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import torch

from flowgmm_ae.data.base import ImageArray
from flowgmm_ae.distributed import DistContext, rank_share


class BatchFeeder:
    """Batches of ``images[unlabeled[...]]`` in the order of the current epoch."""

    def __init__(
        self,
        images: torch.Tensor | ImageArray,
        unlabeled: torch.Tensor,
        batch_size: int,
        ctx: DistContext,
        pin_memory: bool = False,
        workers: int = 0,
    ) -> None:
        self.images, self.unlabeled, self.batch_size, self.ctx = images, unlabeled, batch_size, ctx
        self.pin_memory, self.workers = pin_memory, workers
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="flowgmm-loader") if workers else None
        self.order: torch.Tensor | None = None
        self.pending: dict[int, Future] = {}

    def fetch(self, indices: torch.Tensor) -> torch.Tensor:
        """Images at ``indices`` of the split (an empty batch for no indices)."""
        batch = self.images[indices] if len(indices) else torch.empty(0, *self.images.shape[1:])
        return batch.pin_memory() if self.pin_memory else batch

    def start_epoch(self, order: torch.Tensor) -> None:
        self.order = order
        self.pending.clear()

    def _indices(self, step: int) -> torch.Tensor:
        assert self.order is not None, "start_epoch first"
        batch = self.order[step * self.batch_size : (step + 1) * self.batch_size]
        if self.ctx.active and len(batch) < self.batch_size:
            # The last global batch is padded from the epoch's start (as DistributedSampler does),
            # so that every process gets an equal, non-empty share.
            batch = torch.cat([batch, self.order[: self.batch_size - len(batch)]])
        return self.unlabeled[rank_share(batch, self.ctx)]

    def unlabeled_batch(self, step: int, steps_per_epoch: int) -> torch.Tensor:
        """This process's unlabeled images of global batch ``step``."""
        if self.pool is None:
            return self.fetch(self._indices(step))
        for ahead in range(step, min(step + self.workers + 1, steps_per_epoch)):
            if ahead not in self.pending:
                self.pending[ahead] = self.pool.submit(self.fetch, self._indices(ahead))
        return self.pending.pop(step).result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
