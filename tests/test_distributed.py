"""Multi-process training: torchrun with 2 gloo processes on the CPU, resume under DDP, batch
splitting, bf16 autocast keeping the flow in float32, and memory-mapped image arrays."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from tiny import tiny_cli_args

from flowgmm_ae.cli import main
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data.base import ImageArray
from flowgmm_ae.distributed import DistContext, gathered_scores
from flowgmm_ae.loop import CRASH_AFTER_STEP, TrainingError
from flowgmm_ae.loop import local_batch_sizes as _local_batch_sizes

# The combined (density) score: three tiny epochs do not train the class posterior (part of the
# default fused score) to better than chance in either mode; this file tests DDP, not the score.
ARGS = [*tiny_cli_args(epochs=3, dataset="synthetic"), "--labeled-frac", "0.05", "--score", "combined"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]


def torchrun(*args: str, crash_after: int | None = None, **popen) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if crash_after is not None:
        env[CRASH_AFTER_STEP] = str(crash_after)
    return subprocess.Popen(
        [*TORCHRUN, "-m", "flowgmm_ae.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


def test_two_processes_train_one_run_close_to_a_single_process(tmp_path):
    single = CliRunner().invoke(main, ["train", *ARGS, "--out", str(tmp_path / "single")])
    assert single.exit_code == 0, single.output
    output = finish(torchrun("train", *ARGS, "--out", str(tmp_path / "ddp")))
    assert output.count("Test metrics") == 1  # only rank 0 reports
    config = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert config["processes"] == 2 and config["distributed_backend"] == "gloo"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp", "single"]
    ddp = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    one = json.loads((tmp_path / "single" / "metrics.json").read_text())
    assert ddp["training"]["processes"] == 2
    # Same global batches of unlabeled images; labeled draws, augmentation and latent noise differ.
    assert ddp["test"]["auc"] > 0.6 and abs(ddp["test"]["auc"] - one["test"]["auc"]) < 0.1
    rows = (tmp_path / "ddp" / "scores.csv").read_text().splitlines()
    assert len(rows) == 1 + len(json.loads((tmp_path / "ddp" / "splits.json").read_text())["test"])


def test_resume_under_ddp(tmp_path):
    out = tmp_path / "run"
    # Every worker exits at once after its 4th step, one past the checkpoint at step 3 (the loop's
    # simulated crash): a known point, no timer racing the run.
    process = torchrun("train", *ARGS, "--checkpoint-every", "3", "--out", str(out), crash_after=4)
    output, _ = process.communicate(timeout=300)
    assert process.returncode != 0, output
    assert (out / "checkpoint.pt").exists() and not (out / "metrics.json").exists()
    finish(torchrun("train", "--resume", str(out), "--quiet"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["processes"] == 2 and len(json.loads((out / "config.json").read_text()))
    assert not (out / "checkpoint.pt").exists()


def test_global_batch_must_split_evenly_over_processes():
    assert _local_batch_sizes(TrainConfig(batch_size=64, labeled_batch_size=16), DistContext(0, 4)) == (16, 4)
    with pytest.raises(TrainingError, match="not divisible by the 3 processes"):
        _local_batch_sizes(TrainConfig(batch_size=64), DistContext(0, 3))


def test_bf16_autocast_keeps_the_flow_and_likelihood_in_float32(tiny_model):
    x = torch.rand(4, 1, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = tiny_model(x)
        log_likelihood = tiny_model.log_likelihood(out)
    assert out.z.dtype == torch.bfloat16  # the encoder did run in bf16
    assert out.z_prime.dtype == out.log_det.dtype == log_likelihood.dtype == torch.float32
    assert out.x_hat.dtype == torch.float32 and torch.isfinite(log_likelihood).all()


def test_bf16_training_run_completes(tmp_path):
    result = CliRunner().invoke(main, ["train", *ARGS, "--precision", "bf16", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert np.isfinite(json.loads((tmp_path / "r" / "metrics.json").read_text())["test"]["auc"])


def test_image_array_indexes_like_a_tensor_and_reads_from_a_memory_map(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (10, 1, 4, 4), dtype=np.uint8)
    np.save(tmp_path / "pixels.npy", pixels)
    rows = np.array([7, 2, 5, 0, 9])
    array = ImageArray(np.load(tmp_path / "pixels.npy", mmap_mode="r"), rows=rows)
    tensor = torch.from_numpy(pixels[rows]).float() / 255
    assert array.shape == tensor.shape and len(array) == 5
    for index in (1, slice(1, 4), np.array([4, 0, 0]), torch.tensor([3, 1]), np.array([1, 0, 1, 0, 1], bool)):
        torch.testing.assert_close(array[index], tensor[index])
    torch.testing.assert_close(array.to_tensor(), tensor)


class _TwoRanks(DistContext):
    """Rank 0 of a pretend 2-process group whose rank 1 scores its own share the same way."""

    def __init__(self, other_share):
        super().__init__(rank=0, world_size=2)
        object.__setattr__(self, "other_share", other_share)

    def all_gather(self, value):
        return [value, self.other_share]


def test_gathered_scores_come_back_in_the_original_order():
    images = torch.arange(5 * 4, dtype=torch.float32).reshape(5, 1, 2, 2)

    def score(batch):
        return {"sum": batch.sum(dim=(1, 2, 3)).numpy().astype(np.float64)}

    merged = gathered_scores(score, images, _TwoRanks(score(images[1::2])))
    np.testing.assert_array_equal(merged["sum"], score(images)["sum"])


def test_loader_workers_read_ahead_without_changing_the_result(tmp_path):
    runs = {}
    for workers in ("0", "2"):
        out = tmp_path / f"w{workers}"
        result = CliRunner().invoke(main, ["train", *ARGS, "--loader-workers", workers, "--out", str(out)])
        assert result.exit_code == 0, result.output
        runs[workers] = json.loads((out / "metrics.json").read_text())["scores"]
    assert runs["0"] == runs["2"]
