"""Reliability: resume after a crash at a known step, refusing unsafe checkpoints, clear errors for
bad run folders, finite scores on degenerate images."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import torch
from click.testing import CliRunner
from tiny import TINY, tiny_cli_args

from flowgmm_ae.cli import main
from flowgmm_ae.loop import CRASH_AFTER_STEP, CRASH_EXIT_CODE
from flowgmm_ae.scoring import raw_scores
from flowgmm_ae.training import TrainConfig, train

TINY_ARGS = [*tiny_cli_args(epochs=3, dataset="synthetic"), "--labeled-frac", "0.05"]


def _crash_after_step(out: Path, step: int, timeout: float = 300.0) -> None:
    """Train in a subprocess that exits at once after its ``step``-th optimiser step (the loop's
    simulated crash, $FLOWGMM_AE_CRASH_AFTER_STEP): a known point between two checkpoints, not a
    timer racing the run."""
    command = [sys.executable, "-m", "flowgmm_ae.cli", "train", *TINY_ARGS, "--checkpoint-every", "3"]
    env = {**os.environ, CRASH_AFTER_STEP: str(step)}
    result = subprocess.run(
        [*command, "--out", str(out)], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == CRASH_EXIT_CODE, result.stderr


def test_resume_after_sigkill_gives_the_uninterrupted_result(tmp_path):
    reference = CliRunner().invoke(main, ["train", *TINY_ARGS, "--out", str(tmp_path / "whole")])
    assert reference.exit_code == 0, reference.output
    killed = tmp_path / "killed"
    _crash_after_step(killed, step=4)  # one step past the checkpoint at step 3: that step is lost
    assert (killed / "checkpoint.pt").exists() and not (killed / "metrics.json").exists()
    # without --resume the half-written folder is reported, not reused
    again = CliRunner().invoke(main, ["train", *TINY_ARGS, "--out", str(killed)])
    assert again.exit_code != 0 and "--resume" in again.output
    resumed = CliRunner().invoke(main, ["train", "--resume", str(killed), "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    after = json.loads((killed / "metrics.json").read_text())
    assert after["scores"] == whole["scores"]
    assert (killed / "scores.csv").read_text() == (tmp_path / "whole" / "scores.csv").read_text()
    assert not (killed / "checkpoint.pt").exists()
    # a finished run cannot be resumed again
    finished = CliRunner().invoke(main, ["train", "--resume", str(killed)])
    assert finished.exit_code != 0 and "finished run" in finished.output


class _Payload:
    """Unpickling this creates a file: proof that loading ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_carrying_a_pickle_payload_is_refused(tmp_path):
    config = TrainConfig(out=str(tmp_path / "run"), **TINY)
    train(config)
    run = tmp_path / "run"
    marker = tmp_path / "pwned"
    (run / "metrics.json").unlink()  # pose as an unfinished run
    torch.save({"model": _Payload(marker)}, run / "checkpoint.pt")
    torch.load(run / "checkpoint.pt", weights_only=False)  # an unsafe load does run the payload...
    assert marker.exists()
    marker.unlink()  # ...so the checks below would see it if ours did too
    result = CliRunner().invoke(main, ["train", "--resume", str(run)])
    assert result.exit_code != 0 and "cannot resume" in result.output and "Traceback" not in result.output
    assert not marker.exists()
    # the same payload as model weights: safetensors cannot hold code at all
    (run / "metrics.json").write_text("{}")
    with open(run / "model.safetensors", "wb") as handle:
        pickle.dump(_Payload(marker), handle)
    result = CliRunner().invoke(main, ["evaluate", str(run)])
    assert result.exit_code != 0 and "could not load" in result.output
    assert not marker.exists()


def test_unwritable_out_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["train", *TINY_ARGS, "--out", str(blocker / "run")])
    assert result.exit_code != 0 and "cannot write the run folder" in result.output
    assert "Traceback" not in result.output


def test_scores_are_finite_for_degenerate_images(tiny_model):
    size = 16
    checker = (torch.arange(size)[:, None] + torch.arange(size)[None, :]) % 2
    images = torch.stack(
        [
            torch.zeros(1, size, size),  # all black
            torch.ones(1, size, size),  # all white
            torch.full((1, size, size), 0.5),  # constant
            checker[None].float(),  # extreme contrast
            torch.rand(1, size, size),
        ]
    )
    scores = raw_scores(tiny_model, images)
    for name, values in scores.items():
        assert torch.isfinite(torch.as_tensor(values)).all(), name
