"""One schema for every option: TrainConfig's field declarations generate ``train``'s options,
``ablate --grid``'s axes and the identity of a finished grid cell, so a new field needs no other
edit, and a resumed grid never reuses a cell trained with other options."""

from __future__ import annotations

import dataclasses
import json

import click
import pytest
from click.testing import CliRunner
from tiny import TINY, tiny_cli_args

from flowgmm_ae.ablation import Cell, cell_identity, cell_rows, check_finished_cell
from flowgmm_ae.cli import main, make_ablate_command, make_train_command
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.errors import FlowgmmAEError
from flowgmm_ae.runs import built_config, collect_runs
from flowgmm_ae.schema import GROUPS, cell_fields, declared_fields, setting
from flowgmm_ae.training import train

# A field a developer might add tomorrow, declared as every field is.
Extended = dataclasses.make_dataclass(
    "Extended",
    [("new_knob", float, setting(0.5, "A knob added in a test.", "optimisation", low=0.0, high=1.0))],
    bases=(TrainConfig,),
)


def _cli(config_cls: type) -> click.Group:
    group = click.Group()
    group.add_command(make_train_command(config_cls))
    group.add_command(make_ablate_command(config_cls))
    return group


def test_every_field_is_declared_in_a_known_group():
    fields = declared_fields(TrainConfig)
    assert [f.name for f in fields] == [f.name for f in dataclasses.fields(TrainConfig)]
    assert {f.setting.group for f in fields} <= set(GROUPS)
    assert all(f.setting.help for f in fields)
    assert {"device", "out", "progress", "loader_workers"}.isdisjoint(cell_fields(TrainConfig))
    assert {"score", "beta", "lr", "min_steps", "norm", "val_labels", "select"} <= set(
        cell_fields(TrainConfig)
    )


def test_a_new_field_appears_in_train_help_in_the_grid_and_in_the_cell_identity(tmp_path):
    cli = _cli(Extended)
    help_text = CliRunner().invoke(cli, ["train", "--help"]).output
    section = help_text[help_text.index("Optimisation options:") : help_text.index("Scoring options:")]
    assert "--new-knob" in section and "A knob added in a test." in section
    result = CliRunner().invoke(
        cli,
        ["ablate", "--priors", "gmm", "--labeled-fracs", "0.05", "--seeds", "0", "--grid", "new_knob=0.1,0.2",
         "--dry-run", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "gmm-new_knob=0.1-f0.05-s0" in result.output and "gmm-new_knob=0.2-f0.05-s0" in result.output
    bad = CliRunner().invoke(cli, ["ablate", "--grid", "new_knob=2", "--dry-run", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "new_knob" in bad.output and "0.0<=x<=1.0" in bad.output
    assert cell_identity(Extended(new_knob=0.3))["new_knob"] == 0.3
    assert cell_identity(Extended(new_knob=0.3)) != cell_identity(Extended(new_knob=0.4))


def test_grid_values_are_read_as_the_options_read_them(tmp_path):
    def dry(*grid: str):
        args = [item for g in grid for item in ("--grid", g)]
        return CliRunner().invoke(main, ["ablate", *args, "--dry-run", "--out", str(tmp_path)])

    assert "norm=group" in dry("norm=group", "labeled_frac=0.05", "prior=gmm", "seed=0").output
    for wrong, message in [
        ("norm=layer", "'layer' is not one of"),
        ("lr=-1", "lr: -1.0 is not in the range"),
        ("device=cpu", "device does not define a cell"),
        ("no_such=1", "not FIELD=V1,V2 with a TrainConfig field"),
    ]:
        result = dry(wrong)
        assert result.exit_code != 0 and message in result.output, (wrong, result.output)
    methods = dry("method=cnn,deepsad", "labeled_frac=0.01,0.05", "seed=0").output.split()
    assert methods[:-2] == ["cnn-f0.01-s0", "cnn-f0.05-s0", "deepsad-f0.01-s0", "deepsad-f0.05-s0"]


def test_a_baseline_cell_takes_no_prior_only_axis(tmp_path):
    args = ["ablate", "--priors", "gmm", "--baselines", "cnn", "--labeled-fracs", "0.05", "--seeds", "0"]
    args += [
        "--grid",
        "score=recon,combined",
        "--grid",
        "pool=trim,normal",
        "--grid",
        "encoder_objective=joint,reconstruction",  # a model option only AE-FLOW reads
        "--dry-run",
        "--out",
        str(tmp_path),
    ]
    names = CliRunner().invoke(main, args).output.split()[:-2]
    assert sum(name.startswith("gmm-") for name in names) == 8
    assert [name for name in names if name.startswith("cnn")] == ["cnn-f0.05-s0"]


@pytest.mark.parametrize(("option", "changed"), [("--score", "recon"), ("--beta", "0.5")])
def test_a_resumed_grid_with_another_option_reuses_no_cell_silently(tmp_path, option, changed):
    grid = ["ablate", "--dataset", "synthetic", "--priors", "gmm", "--labeled-fracs", "0.1", "--seeds", "0"]
    grid += ["--score", "combined", *[a for a in tiny_cli_args() if a != "--quiet"], "--out", str(tmp_path)]
    first = CliRunner().invoke(main, grid)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, grid)
    assert again.exit_code == 0 and "done, reused" in again.output
    (row,) = collect_runs([tmp_path])  # the table's row, from the run's records, not its folder name
    metrics = json.loads((tmp_path / "runs" / "gmm-f0.1-s0" / "metrics.json").read_text())
    assert (row["method"], row["score"], row["labeled_frac"], row["seed"]) == (
        "flowgmm-ae",
        "combined",
        0.1,
        0,
    )
    assert row["auc"] == metrics["scores"]["combined"]["test"]["auc"] and row["lr"] == TrainConfig.lr
    if option == "--score":
        grid[grid.index("--score") + 1] = changed
    else:
        grid += [option, changed]
    resumed = CliRunner().invoke(main, grid)
    assert resumed.exit_code != 0 and "done, reused" not in resumed.output
    field = option.lstrip("-")
    assert f"was trained with {field}=" in resumed.output and "use another --out" in resumed.output


def test_a_finished_cell_built_with_another_default_stride_is_not_reused(tmp_path):
    options = {**TINY, "stride": None, "out": str(tmp_path / "run")}
    train(TrainConfig(**options))
    check_finished_cell(tmp_path / "run", TrainConfig(**options))  # the same default: reused
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["stride"] is None and record["model"]["stride"] == 4
    record["model"]["stride"] = 2  # as if the default had built another latent then
    (tmp_path / "run" / "config.json").write_text(json.dumps(record))
    with pytest.raises(FlowgmmAEError, match="stride=2 \\(grid: 4\\)"):
        check_finished_cell(tmp_path / "run", TrainConfig(**options))


@pytest.fixture(scope="module")
def default_latent_run(tmp_path_factory):
    """A finished tiny run that left its stride and latent channels to the defaults (read only)."""
    run = tmp_path_factory.mktemp("default_latent") / "run"
    train(TrainConfig(**{**TINY, "stride": None, "latent_channels": None, "out": str(run)}))
    return run


def test_collected_rows_name_the_latent_a_default_built(default_latent_run):
    """Tables filter runs by their latent: a run left to the defaults reports what was built, not None."""
    record = json.loads((default_latent_run / "config.json").read_text())
    assert record["latent_channels"] is None
    (row,) = collect_runs([default_latent_run])
    assert (row["stride"], row["latent_channels"]) == (4, record["model"]["latent_channels"]) == (4, 64)


def test_ablate_rows_name_the_latent_a_default_built(default_latent_run):
    """results.csv pairs grids by their latent: a cell left to the defaults reports what was built."""
    rows = cell_rows(Cell("gmm", 0.05, 0), default_latent_run, normal_quantile=0.95)
    assert rows and all((row["stride"], row["latent_channels"]) == (4, 64) for row in rows)
    axis_rows = cell_rows(Cell("gmm", 0.05, 0), default_latent_run, 0.95, axes=("latent_channels", "epochs"))
    assert (axis_rows[0]["latent_channels"], axis_rows[0]["epochs"]) == (64, "1")


def test_a_finished_cell_built_with_other_default_latent_channels_is_not_reused(tmp_path):
    options = {**TINY, "latent_channels": None, "out": str(tmp_path / "run")}
    train(TrainConfig(**options))
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["latent_channels"] is None and record["model"]["latent_channels"] == 64
    check_finished_cell(tmp_path / "run", TrainConfig(**options))  # the same default: reused
    assert built_config(record).latent_channels == 64  # reloads with the channels it was built with
    record["model"]["latent_channels"] = 16  # as if an earlier default had built it
    (tmp_path / "run" / "config.json").write_text(json.dumps(record))
    with pytest.raises(FlowgmmAEError, match="latent_channels=16 \\(grid: 64\\)"):
        check_finished_cell(tmp_path / "run", TrainConfig(**options))


def test_every_command_defaults_to_the_same_device():
    for path in (["train"], ["evaluate"], ["score"]):
        command = main.commands[path[0]]
        device = next(p for p in command.params if p.name == "device")
        assert device.default == TrainConfig.device == "auto"


def test_the_table_script_pairs_runs_and_columns_seed_by_seed(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parent.parent / "benchmarks" / "tables.py"
    rows = ["method,seed,run,auc,test_auc_last"]
    rows += [f"cnn,{s},c{s},{0.90 + s / 100},{0.90}" for s in range(5)]
    gains = (0.01, 0.02, 0.03, 0.04, -0.05)
    rows += [f"flowgmm-ae,{s},g{s},{0.90 + s / 100 + gains[s]},{0.91}" for s in range(5)]
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")

    def table(*args: str) -> list[list[str]]:
        out = subprocess.run(
            [sys.executable, str(script), "paired", str(tmp_path / "results.csv"), *args],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return [[cell.strip() for cell in line.strip("|").split("|")] for line in out.splitlines()[2:]]

    reference, other = table("--reference", "method=cnn", "--by", "")
    assert reference[0] == "**cnn**" and other[0] == "flowgmm-ae"
    # Δ, seeds won, and the exact two-sided Wilcoxon p: W- = 5 of 15, 10 of 32 sign patterns as low
    assert other[3:6] == ["+0.010", "4/5", "0.625"]
    melted = table("--melt", "auc,test_auc_last", "--reference", "measure=test_auc_last", "--metric", "value",
                   "--by", "method", "--where", "method=cnn")  # fmt: skip
    assert melted[1][1:6] == ["auc", "5", "0.920 ± 0.016", "+0.020", "4/5"]


def test_cases_are_one_at_a_time_variants_not_a_product(tmp_path):
    args = ["ablate", "--priors", "gmm", "--labeled-fracs", "0.05", "--seeds", "0", "--dry-run"]
    args += ["--case", "epochs=40", "--case", "labeled_batch_size=32;lr=3e-4", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    names = result.output.split()[:-2]
    assert names == ["gmm-f0.05-s0", "gmm-epochs=40-f0.05-s0", "gmm-labeled_batch_size=32-lr=0.0003-f0.05-s0"]
    bad = CliRunner().invoke(main, [*args[:-2], "--case", "seed=3", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "not a grid axis" in bad.output


@pytest.fixture
def pretrained_prior(monkeypatch):
    """A prior registered with its own defaults (reconstruction-only encoder, β 0.3, pretraining
    0.3 at 0.2 × lr) whatever the package's priors choose; removed after the test."""
    from flowgmm_ae import priors

    entry = dataclasses.replace(
        priors.prior_entry("gaussian"),
        encoder_objective="reconstruction",
        beta=0.3,
        pretrain_fraction=0.3,
        encoder_lr_scale=0.2,
    )
    monkeypatch.setitem(priors._PRIORS, "pretrained", entry)
    return "pretrained"


def test_automatic_encoder_objective_and_beta_follow_the_prior_and_identify_cells_as_resolved(
    pretrained_prior,
):
    from flowgmm_ae.runs import train_config_from_record

    own, mixture = TrainConfig(prior=pretrained_prior), TrainConfig(prior="gmm")
    assert own.model_config(1).encoder_objective == "reconstruction"
    assert mixture.model_config(1).encoder_objective == "joint"
    explicit = dataclasses.replace(own, encoder_objective="reconstruction")
    assert cell_identity(own) == cell_identity(explicit)  # the same computation, one cell
    assert cell_identity(own) != cell_identity(dataclasses.replace(own, encoder_objective="joint"))
    # β likewise: the prior's own under --beta prior, and the same cell as that number given.
    assert own.resolved_beta() == 0.3 and mixture.resolved_beta() == 0.9
    assert cell_identity(own) == cell_identity(dataclasses.replace(explicit, beta=0.3))
    # A run recorded before the option existed trained its encoder with the whole objective.
    assert train_config_from_record({"prior": pretrained_prior}).resolved_encoder_objective() == "joint"


def test_pretraining_options_follow_the_prior_and_identify_cells_as_resolved(pretrained_prior):
    from flowgmm_ae.runs import train_config_from_record

    config = TrainConfig(prior=pretrained_prior)
    assert (config.resolved_pretrain_fraction(), config.resolved_encoder_lr_scale()) == (0.3, 0.2)
    explicit = dataclasses.replace(config, pretrain_fraction=0.3, encoder_lr_scale=0.2)
    assert cell_identity(config) == cell_identity(explicit)
    assert cell_identity(config) != cell_identity(dataclasses.replace(config, pretrain_fraction=0.0))
    # The record keeps what "prior" stood for: a later change of the prior's defaults relabels nothing.
    record = {**dataclasses.asdict(config), "resolved": config.resolved_prior_defaults()}
    record["prior"] = "gaussian"
    reread = train_config_from_record(record)
    assert (reread.resolved_pretrain_fraction(), reread.resolved_encoder_lr_scale()) == (0.3, 0.2)
    # A run recorded before the options existed was not pretrained.
    old = train_config_from_record({"prior": pretrained_prior})
    assert (old.resolved_pretrain_fraction(), old.resolved_encoder_lr_scale()) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pretrain_fraction", 1.5, r"must lie in \[0, 1\]"),
        ("pretrain_fraction", "half", "must be a finite number or 'prior'"),
        ("encoder_lr_scale", 0.0, r"must lie in \(0, 1\]"),
        ("encoder_lr_scale", float("nan"), "must be a finite number or 'prior'"),
    ],
)
def test_a_prior_number_outside_its_range_is_refused_naming_the_field(field, value, message):
    from flowgmm_ae.errors import ConfigError

    with pytest.raises(ConfigError, match=message) as caught:
        TrainConfig(**{field: value}).validate()
    assert caught.value.fields == (field,)


def test_prior_numbers_read_prior_or_a_bounded_number_on_the_command_line(tmp_path):
    args = ["ablate", "--priors", "gmm", "--labeled-fracs", "0.05", "--seeds", "0", "--dry-run"]
    args += ["--out", str(tmp_path), "--grid", "pretrain_fraction=prior,0.25"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.split()[:-2] == [
        "gmm-pretrain_fraction=prior-f0.05-s0",
        "gmm-pretrain_fraction=0.25-f0.05-s0",
    ]
    bad = CliRunner().invoke(main, [*args[:-1], "pretrain_fraction=2"])
    assert bad.exit_code == 2 and "pretrain_fraction" in bad.output
    assert "[0-1|prior]" in CliRunner().invoke(main, ["train", "--help"]).output
