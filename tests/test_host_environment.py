"""The library inside someone else's environment: importing it or fitting a model changes no
process-wide state (matplotlib backend, global random generators, malloc, stdout), the baselines
are installed only as ``flowgmm_ae.baselines``, the metadata pins nothing exactly, plug-ins
register through an entry point, and the estimators follow scikit-learn's parameter protocol."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import sklearn.base
from tiny import TINY, tiny_cli_args

import flowgmm_ae
from flowgmm_ae import Detector, FlowGMMAE
from flowgmm_ae import methods as methods_module
from flowgmm_ae.baselines import CNN, Autoencoder, DeepSAD, DevNet, Supervised
from flowgmm_ae.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]
MODEL = {k: v for k, v in TINY.items() if k not in ("dataset", "progress")}

# Run in a fresh interpreter: set a backend and seed the global generators as a notebook would,
# import every module of the package, train through the API and through train(), then report what
# changed. The tiny model is as in tests/tiny.py.
_HOST_SCRIPT = """
import json, pkgutil, importlib, sys
import matplotlib
matplotlib.use("svg")
import numpy as np, torch
torch.manual_seed(123); np.random.seed(123)
torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
import flowgmm_ae
for module in pkgutil.walk_packages(flowgmm_ae.__path__, "flowgmm_ae."):
    if module.name != "flowgmm_ae.__main__":
        importlib.import_module(module.name)
import flowgmm_ae.baselines
from flowgmm_ae import FlowGMMAE, TrainConfig, train
from flowgmm_ae import runtime
tiny = json.loads(sys.argv[1])
x = np.random.default_rng(0).random((48, 16, 16), dtype=np.float32)
y = np.r_[np.zeros(40), np.ones(8)]
FlowGMMAE(**{k: v for k, v in tiny.items() if k not in ("dataset", "progress")}).fit(x, y)
train(TrainConfig(out=sys.argv[2], **tiny))
print(json.dumps({
    "backend": matplotlib.get_backend(),
    "torch_rng_unchanged": bool(torch.equal(torch_state, torch.get_rng_state())),
    "numpy_rng_unchanged": bool((numpy_state == np.random.get_state()[1]).all()),
    "malloc_tuned": runtime._applied,
}))
"""


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the script sets its own backend, as a notebook would
    return env


def test_importing_and_fitting_change_no_process_wide_state(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _HOST_SCRIPT, json.dumps(TINY), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    *printed, report_line = result.stdout.strip().splitlines()
    assert printed == []  # nothing but the report on stdout: fit and train print nothing
    report = json.loads(report_line)
    assert report == {
        "backend": "svg",
        "torch_rng_unchanged": True,
        "numpy_rng_unchanged": True,
        "malloc_tuned": False,
    }
    assert (tmp_path / "run" / "training_curve.png").stat().st_size > 0  # drawn without pyplot


def test_a_redirected_cli_run_logs_no_progress_bar_refreshes(tmp_path):
    log = tmp_path / "train.log"
    args = [a for a in tiny_cli_args(epochs=2, dataset="synthetic") if a != "--quiet"]  # bars wanted
    with log.open("w") as handle:
        result = subprocess.run(
            [sys.executable, "-m", "flowgmm_ae.cli", "train", *args, "--out", str(tmp_path / "run")],
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    text = log.read_text()
    assert result.returncode == 0, text
    assert "\r" not in text  # tqdm draws no bar where the output is not a terminal
    assert re.search(r"^epoch 2/2 ", text, re.MULTILINE)  # the epoch lines still reach the log


def test_the_baselines_install_only_inside_the_package(tmp_path):
    code = textwrap.dedent(
        """
        from flowgmm_ae.baselines import CNN
        try:
            import baselines
        except ModuleNotFoundError:
            print("no top-level baselines")
        else:
            print("top-level baselines at", baselines.__file__)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no top-level baselines"


def test_the_wheel_holds_the_baselines_under_the_package_only(tmp_path):
    """What a non-editable install gets: the wheel built from pyproject.toml's package list."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("flowgmm_ae", "baselines"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path)]
    if _setuptools_version() >= (68,):  # the build backend pyproject.toml asks for is here: offline
        command.append("--no-build-isolation")
    result = subprocess.run([*command, str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("flowgmm_ae-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.startswith("baselines/")]
    package = ROOT / "flowgmm_ae"
    expected = {f"flowgmm_ae/{path.relative_to(package)}" for path in package.rglob("*.py")}
    expected |= {f"flowgmm_ae/baselines/{path.name}" for path in (ROOT / "baselines").glob("*.py")}
    assert expected - set(names) == set()  # pyproject.toml's package list misses no module


def _setuptools_version() -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return (0,)


def test_a_folder_named_baselines_in_the_working_directory_does_not_shadow_ours(tmp_path):
    (tmp_path / "baselines").mkdir()
    (tmp_path / "baselines" / "__init__.py").write_text("raise ImportError('the user project')\n")
    code = "import flowgmm_ae; print(','.join(flowgmm_ae.method_names()))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {"cnn", "deepsad", "devnet", "ae", "supervised"} <= set(result.stdout.strip().split(","))


def test_the_metadata_declares_ranges_not_exact_pins():
    requirements = importlib.metadata.requires("flowgmm-ae") or []
    core = [r for r in requirements if "extra ==" not in r]
    names = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0] for r in core}
    assert names >= {"torch", "normflows", "pytorch-msssim"}
    assert not [r for r in requirements if "==" in r.split(";")[0]], requirements
    constraints = (ROOT / "constraints.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", constraints, re.MULTILINE)  # the fast, tested set


def test_an_installed_plug_in_registers_through_the_entry_point_group(monkeypatch, tmp_path):
    (tmp_path / "my_plugin.py").write_text(
        textwrap.dedent(
            """
            from flowgmm_ae.baselines.cnn import CNNBaseline
            from flowgmm_ae.methods import register_method

            @register_method
            class PluginCNN(CNNBaseline):
                name = "plugin-cnn"
            """
        )
    )
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('broken on purpose')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    wanted = methods_module.PLUGIN_GROUP
    entry_points = [
        importlib.metadata.EntryPoint("plugin-cnn", "my_plugin", wanted),
        importlib.metadata.EntryPoint("broken", "broken_plugin", wanted),
    ]
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group=None: entry_points if group == wanted else []
    )
    methods_module.method_names()  # the built-ins register in the real registry, not in the copy below
    monkeypatch.setattr(methods_module, "_builtins_loaded", False)
    monkeypatch.setattr(methods_module, "_METHODS", dict(methods_module._METHODS))
    with CapturedMessages(methods_module.log) as records:
        names = methods_module.method_names()
    assert "plugin-cnn" in names and "cnn" in names
    assert any("broken" in message and "broken on purpose" in message for message in records)


class CapturedMessages:
    """The messages a logger emits inside the block (the package's loggers may not propagate)."""

    def __init__(self, logger):
        import logging

        self.logger, self.records = logger, []
        handler = logging.Handler()
        handler.emit = lambda record: self.records.append(record.getMessage())
        self.handler = handler

    def __enter__(self):
        self.logger.addHandler(self.handler)
        return self.records

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)


@pytest.mark.parametrize("estimator", [FlowGMMAE, Detector, CNN, Autoencoder, DeepSAD, DevNet, Supervised])
def test_sklearn_clone_copies_the_parameters_of_every_estimator(estimator):
    original = estimator(epochs=3, lr=5e-4)
    copy = sklearn.base.clone(original)
    assert type(copy) is estimator and copy is not original
    assert copy.get_params() == original.get_params()
    assert copy.get_params()["epochs"] == 3 and copy.get_params()["image_size"] is None
    assert copy.set_params(epochs=5) is copy and copy.epochs == 5 and original.epochs == 3
    assert ("method" in copy.get_params()) == (estimator is Detector)


def test_a_clone_of_a_fitted_detector_is_unfitted_and_refits_to_the_same_scores():
    rng = np.random.default_rng(0)
    x = rng.random((48, 16, 16), dtype=np.float32)
    y = np.r_[np.zeros(40, np.int64), np.ones(8, np.int64)]
    fitted = FlowGMMAE(**MODEL).fit(x, y)
    assert fitted.decision_scores_.shape == (48,) and set(np.unique(fitted.labels_)) <= {0, 1}
    np.testing.assert_array_equal(fitted.labels_, fitted.predict(x))
    twin = sklearn.base.clone(fitted)
    assert not hasattr(twin, "model_") and not hasattr(twin, "decision_scores_")
    np.testing.assert_array_equal(twin.fit(x, y).decision_scores_, fitted.decision_scores_)


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    """The README's first Python block, run as written on small synthetic images (FlowGMMAE made
    tiny: the block's own options still apply on top)."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.DOTALL).group(1)
    assert ".fit(x, y" in block  # the PyOD-style contract is what the README shows first
    data = load_dataset("synthetic", image_size=16, seed=0)
    train_split = data.train
    namespace = {
        "x": train_split.images.numpy(),
        "y": (train_split.labels == 1) & (np.arange(len(train_split)) % 10 == 0),  # a few labeled
        "x_val": data.val.images.numpy(),
        "y_val": data.val.labels,
        "x_test": data.test.images.numpy(),
    }
    namespace["y"] = namespace["y"].astype(np.int64)
    monkeypatch.setattr(flowgmm_ae, "FlowGMMAE", partial(FlowGMMAE, **MODEL))
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["scores"].shape == (len(data.test),)
    assert set(np.unique(namespace["labels"])) <= {0, 1}
