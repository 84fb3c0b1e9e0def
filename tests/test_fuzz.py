"""Property-based tests (hypothesis): hostile image files and option values end in a result or a
clear error with a non-zero exit, never a traceback.

CI draws a fixed, derandomised set of cases (tests/conftest.py); ``benchmarks/fuzz.sh`` runs
``FLOWGMM_AE_FUZZ_EXAMPLES`` fresh cases of each kind and records what ran and what failed."""

import errno
import io
import os

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from tiny import tiny_cli_args

from flowgmm_ae.cli import main
from flowgmm_ae.data import DataError
from flowgmm_ae.data.images import read_image


def examples(in_ci: int) -> int:
    """Cases per test: ``in_ci``, or $FLOWGMM_AE_FUZZ_EXAMPLES for a volume run."""
    return int(os.environ.get("FLOWGMM_AE_FUZZ_EXAMPLES", in_ci))


MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "I;16", "I", "F", "CMYK"]
FORMATS = ["PNG", "JPEG", "TIFF", "BMP"]


def _encode(mode: str, fmt: str, width: int, height: int, seed: int) -> bytes | None:
    rng = np.random.default_rng(seed)
    if mode in ("I;16", "I", "F"):
        array = rng.integers(0, 60000, (height, width)).astype(np.uint16 if mode == "I;16" else np.int32)
        image = Image.fromarray(array.astype(np.float32) if mode == "F" else array, mode=None)
    else:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), "RGBA").convert(
            mode
        )
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt)
    except (OSError, ValueError, KeyError):
        return None  # this format cannot store this mode
    return buffer.getvalue()


@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mode=st.sampled_from(MODES),
    fmt=st.sampled_from(FORMATS),
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    cut=st.one_of(st.none(), st.integers(0, 400)),
    channels=st.sampled_from([1, 3]),
    seed=st.integers(0, 2**16),
)
def test_any_image_file_reads_or_fails_clearly(tmp_path, mode, fmt, width, height, cut, channels, seed):
    data = _encode(mode, fmt, width, height, seed)
    if data is None:
        return
    if cut is not None:
        data = data[:cut]  # truncated header or body
    path = tmp_path / f"image.{fmt.lower()}"
    path.write_bytes(data)
    try:
        tensor = read_image(path, channels=channels, size=16)
    except DataError as error:
        assert str(path) in str(error)
        return
    assert tensor.shape == (channels, 16, 16)
    assert np.isfinite(tensor.numpy()).all() and tensor.min() >= 0 and tensor.max() <= 1


@settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_a_clear_error(tmp_path, data):
    path = tmp_path / "random.png"
    path.write_bytes(data)
    with pytest.raises(DataError, match="could not read image"):
        read_image(path, channels=1, size=16)


OPTION_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "--labeled-frac": st.one_of(st.floats(-1, 2), st.text(max_size=4)),
        "--n-labeled": st.integers(-5, 100_000),
        "--contamination": st.floats(-0.5, 1.5),
        "--image-size": st.integers(-4, 40),
        "--stride": st.integers(-2, 40),
        "--lr": st.one_of(st.floats(-1, 1), st.just("nan")),
        "--alpha": st.floats(-1, 2),
        "--beta": st.one_of(st.floats(-1, 2), st.sampled_from(["auto", "prior"]), st.text(max_size=3)),
        "--batch-size": st.integers(-1, 300),
        "--seed": st.integers(-10, 2**31),
    },
)


@settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(options=OPTION_VALUES)
def test_train_options_give_a_run_or_a_clear_error(tmp_path_factory, options):
    out = tmp_path_factory.mktemp("fuzz") / "run"
    args = [*tiny_cli_args(dataset="synthetic")]
    for name, value in options.items():
        args += [name, str(value)]
    result = CliRunner().invoke(main, ["train", *args, "--out", str(out)])
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        assert (out / "metrics.json").is_file()
    else:
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Error" in result.output


def test_a_full_disk_is_a_clear_error(tmp_path, monkeypatch):
    import flowgmm_ae.loop as loop

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(loop, "save_weights", no_space)  # the loop's weights at the first epoch's end
    result = CliRunner().invoke(
        main, ["train", *tiny_cli_args(dataset="synthetic"), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code != 0 and "No space left on device" in result.output
    assert "Traceback" not in result.output
