"""Property-based tests (hypothesis): hostile image files, arrays given to the Python API, CSV
manifests and option values end in a result or a clear error (a non-zero exit, or an exception
that names the argument), never a traceback.

CI draws a fixed, derandomised set of cases (tests/conftest.py); ``benchmarks/fuzz.sh`` runs
``FLOWGMM_AE_FUZZ_EXAMPLES`` fresh cases of each kind and records what ran and what failed."""

import errno
import io
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from tiny import TINY, tiny_cli_args

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


# --- arrays given to the Python API ---------------------------------------------------------------

ARRAY_DTYPES = [
    "uint8",
    "int8",
    "int32",
    "int64",
    "uint16",
    "float16",
    "float32",
    "float64",
    "bool",
    "complex64",
]
SPECIAL_VALUES = [0.0, 1.0, -0.5, 1.5, 255.0, float("nan"), float("inf"), float("-inf")]


@st.composite
def hostile_arrays(draw) -> object:
    """Arrays of any small shape and dtype, some with NaN, infinities or values out of [0, 1], as a
    numpy array, a torch tensor, or something that is neither. Most of them have the shape the
    detector expects, (N, 16, 16) or (N, C, 16, 16), so that the values and dtypes are reached."""
    if draw(st.integers(0, 3)) > 0:
        channels = draw(st.sampled_from([[], [1], [3], [2]]))
        shape = [draw(st.sampled_from([1, 2, 5, 0])), *channels, 16, draw(st.sampled_from([16, 16, 16, 15]))]
    else:
        shape = draw(st.lists(st.integers(0, 9), min_size=0, max_size=5))
    dtype = draw(st.sampled_from(ARRAY_DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = np.asarray(rng.random(shape) * draw(st.sampled_from([1.0, 1.0, 255.0, 2.0])))
    if values.size and draw(st.integers(0, 2)) == 0:
        values.flat[draw(st.integers(0, values.size - 1))] = draw(st.sampled_from(SPECIAL_VALUES))
    with np.errstate(invalid="ignore", over="ignore"):
        array = values.astype(dtype)
    kind = draw(st.sampled_from(["numpy", "numpy", "torch", "torch", "list", "non-contiguous"]))
    if kind == "torch" and dtype != "uint16":
        return torch.from_numpy(array)
    if kind == "list":
        return array.tolist()
    if kind == "non-contiguous" and array.ndim:
        return array[..., ::-1]
    return array


@pytest.fixture(scope="module")
def fitted_detector():
    """One tiny detector fitted once for the module: the fuzzed arrays only score against it."""
    from flowgmm_ae import FlowGMMAE

    rng = np.random.default_rng(0)
    images = rng.random((48, 16, 16)).astype(np.float32)
    y = np.zeros(48, dtype=int)
    y[:4] = 1
    settings_ = {k: v for k, v in TINY.items() if k != "dataset"}
    return FlowGMMAE(**settings_).fit(images, y, validation=(images[4:20], np.r_[np.ones(2), np.zeros(14)]))


@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(images=hostile_arrays())
def test_any_array_scores_or_fails_clearly(fitted_detector, images):
    try:
        scores = fitted_detector.decision_function(images)
    except (TypeError, ValueError) as error:
        assert "images" in str(error), f"the message does not name the argument: {error}"
        event(f"refused: {type(error).__name__}")
        return
    event("scored")
    assert scores.shape == (len(images),) and np.isfinite(scores).all()


# --- CSV manifests ---------------------------------------------------------------------------------

MANIFEST_COLUMNS = ["path", "label", "split", "subtype", "group", "notes", "", "Path", " label "]
MANIFEST_WORDS = [
    "normal",
    "abnormal",
    "anomaly",
    "0",
    "1",
    "train",
    "val",
    "test",
    "",
    "x",
    "Normal",
    "TEST",
]


VALID_CELLS = {
    "path": [f"{kind}{i}.png" for kind in "na" for i in range(8)],
    "label": ["normal", "abnormal", "0", "1", "Normal", "anomaly"],
    "split": ["train", "val", "test", "", "TEST"],
    "subtype": ["", "bacteria", "virus"],
    "group": ["", "p1", "p2", "p3"],
}
BAD_CELLS = ["missing.png", "broken.png", "../n0.png", "", "x", "2", "train,", '"', "tést"]


@st.composite
def manifests(draw) -> bytes:
    """CSV manifests: most with a fitting header and rows of mostly fitting values (paths to real,
    missing or broken image files), the rest with any header; in UTF-8 or Latin-1, some cut short."""
    if draw(st.sampled_from(["fitting", "fitting", "fitting", "any"])) == "fitting":
        extra = draw(st.lists(st.sampled_from(["split", "subtype", "group"]), unique=True, max_size=3))
        columns = draw(st.permutations(["path", "label", *extra]))
    else:
        columns = draw(st.lists(st.sampled_from(MANIFEST_COLUMNS), min_size=0, max_size=5))
    cell = lambda column: st.one_of(  # noqa: E731
        st.sampled_from(VALID_CELLS.get(column.strip().lower(), BAD_CELLS)),
        st.sampled_from(BAD_CELLS) if draw(st.integers(0, 3)) == 0 else st.nothing(),
        st.text(max_size=6) if draw(st.integers(0, 5)) == 0 else st.nothing(),
    )
    rows = draw(
        st.lists(
            st.tuples(*(cell(column) for column in columns)),
            min_size=draw(st.sampled_from([8, 8, 8, 0])),
            max_size=40,
        )
    )
    text = "\n".join(",".join(cells) for cells in [columns, *rows])
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    data = text.encode(encoding, errors="replace" if encoding == "latin-1" else "surrogatepass")
    if draw(st.integers(0, 3)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


@pytest.fixture(scope="module")
def manifest_images(tmp_path_factory):
    """A folder with eight normal and eight abnormal PNGs and one broken file, for manifests to list."""
    folder = tmp_path_factory.mktemp("manifest")
    rng = np.random.default_rng(1)
    for name in (f"{kind}{i}" for kind in "na" for i in range(8)):
        Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(folder / f"{name}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return folder


@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=manifests(), n=st.integers(0, 2**32))
def test_any_manifest_lists_images_or_fails_clearly(manifest_images, tmp_path_factory, data, n):
    manifest = manifest_images / f"m{n}.csv"
    manifest.write_bytes(data)
    cache = tmp_path_factory.mktemp("cache")
    try:
        result = CliRunner().invoke(
            main,
            [
                "data",
                "info",
                "--dataset",
                f"folder:{manifest}",
                "--image-size",
                "16",
                "--cache-dir",
                str(cache),
            ],
        )
    finally:
        manifest.unlink()
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    event("listed" if result.exit_code == 0 else "refused")
    if result.exit_code != 0:
        assert "Error" in result.output
