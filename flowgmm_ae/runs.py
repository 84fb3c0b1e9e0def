"""Reopening a finished run folder: its configuration, its data set and its model weights.

Weights are read from safetensors only, so a run folder from someone else cannot run code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data import ImageDataset, is_known_dataset, load_dataset
from flowgmm_ae.data.splits import subset_split
from flowgmm_ae.errors import FlowgmmAEError
from flowgmm_ae.io import load_weights, read_json
from flowgmm_ae.methods import get_method

# The encoder/decoder normalisation of run folders written before --norm existed (their config.json
# has no "norm"): GroupNorm, whatever TrainConfig's default is now.
LEGACY_NORM = "group"


class RunFolderError(FlowgmmAEError):
    """A run folder is missing, unfinished or unreadable; the message says which file and why."""


def read_config(run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    path = run_dir / "config.json"
    if not path.is_file():
        raise RunFolderError(f"{run_dir} is not a run folder: it has no config.json")
    try:
        return read_json(path)
    except ValueError as error:
        raise RunFolderError(f"{path} is not valid JSON: {error}") from error


def train_config_from_record(config: dict[str, Any]) -> TrainConfig:
    """The TrainConfig a run was trained with, from its config.json (keys of other versions
    ignored; a record without "norm" was trained with :data:`LEGACY_NORM`, one without "pool" on a
    contaminated pool with the mixture marginal, one without "encoder_objective" with the joint
    objective, one without "contamination_mode" on a pool the hidden anomalies were added to, if
    it had any, one without "pretrain_fraction" without pretraining, one without "flip_rotate"
    without flips; "auto" and "prior" are read as the values the run recorded for them)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    options = {k: v for k, v in config.items() if k in known}
    options.setdefault("norm", config.get("model", {}).get("norm", LEGACY_NORM))
    if "pool" not in config and (config.get("contamination", 0) > 0 or config.get("learn_weights")):
        options["pool"] = "marginal"  # the only pool objective before "pool" was recorded
    options.setdefault("encoder_objective", "joint")  # the only objective before it was recorded
    options.setdefault("pretrain_fraction", 0.0)  # no pretraining before the option existed
    options.setdefault("encoder_lr_scale", 1.0)
    options.setdefault("flip_rotate", "none")  # no flips before the option existed
    for name, value in config.get("resolved", {}).items():  # what "auto" / "prior" stood for then
        if name in options and options[name] in ("auto", "prior"):
            options[name] = value
    if "contamination_mode" not in config and config.get("contamination", 0) > 0:
        options["contamination_mode"] = (
            "add"  # the only rule before it was recorded (on a clean pool both are one)
        )
    return TrainConfig(**options)


def built_config(config: dict[str, Any]) -> TrainConfig:
    """:func:`train_config_from_record` with the latent the run's model was built with: the default
    stride and channels depend on the images' channels, and their rules change between releases."""
    train_config = train_config_from_record(config)
    built = config.get("model", {})
    for name in ("stride", "latent_channels"):
        if getattr(train_config, name) is None and name in built:
            train_config = dataclasses.replace(train_config, **{name: built[name]})
    return train_config


def load_model(
    run_dir: str | Path, weights: str = "model.safetensors"
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The trained model of a run (in eval mode) and the run's config.json."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    path = run_dir / weights
    if not path.is_file():
        raise RunFolderError(f"{run_dir} has no {weights}: the run did not finish (or was moved)")
    train_config = built_config(config)
    model = get_method(train_config.method).build(train_config, config["model"]["in_channels"])
    try:
        load_weights(model, path)
    except Exception as error:  # safetensors raises its own error types for corrupt files
        raise RunFolderError(f"could not load {path}: {error}") from error
    model.eval()
    # channels_last as in training, so that scores recomputed here match the run's to the bit.
    return model.to(memory_format=torch.channels_last), config


def load_run_dataset(
    config: dict[str, Any],
    dataset: str | None = None,
    data_root: str | None = None,
    run_dir: str | Path | None = None,
) -> ImageDataset:
    """The run's own data set as recorded in config.json (same file, same seed, same carved
    splits, and, given ``run_dir``, only the validation images the run could use, as listed in its
    splits.json), or another ``dataset`` at the run's image size."""
    own = dataset is None
    if dataset is None:
        used = config["dataset_used"]
        dataset = used if is_known_dataset(used) else config["dataset"]  # folder:PATH is named folder-X
        source = config.get("dataset_source", "")
        data_root = data_root or (source if source.endswith(".npz") else config.get("data_root"))
    loaded = load_dataset(
        dataset,
        image_size=config["image_size"],
        data_root=data_root,
        seed=config.get("seed", 0),
        val_frac=config.get("val_frac", 0.1),
        group_pattern=config.get("group_pattern"),
        cache_dir=config.get("cache_dir"),
        use_cache=config.get("use_cache", True),
    )
    splits_file = Path(run_dir) / "splits.json" if run_dir is not None else None
    if own and splits_file is not None and splits_file.is_file():
        used = np.asarray(read_json(splits_file).get("validation", range(len(loaded.val))), dtype=np.int64)
        if len(used) != len(loaded.val):
            loaded = dataclasses.replace(loaded, val=subset_split(loaded.val, used))
    return loaded


RUN_METRICS = ("auc", "auprc", "f1", "acc", "sen", "spe")
# Column suffix -> the checkpoint rule's entry in metrics.json's "selection" block.
SELECTION_RULES = {"last": "last", "best_val": "best_val", "best_val_all": "best_val_all_labels"}


def score_diagnostics(metrics: dict[str, Any]) -> dict[str, float]:
    """From a run's metrics.json: each stored score's test AUC (``test_auc[SCORE]``) and its
    validation AUC with every label at the kept epoch (``val_auc_all[SCORE]``); diagnostics that
    chose nothing."""
    by_score = metrics.get("selection", {}).get("last", {}).get("val_auc_all_labels_by_score", {})
    return {
        **{f"test_auc[{name}]": entry["test"]["auc"] for name, entry in metrics["scores"].items()},
        **{f"val_auc_all[{name}]": value for name, value in by_score.items()},
    }


def collect_runs(paths: list[str | Path]) -> list[dict[str, Any]]:
    """One row per finished run folder under ``paths`` (run folders, or folders searched for them),
    read from its config.json and metrics.json, never from its name: every TrainConfig field as
    trained (``stride`` and ``latent_channels`` as built where the run left them to the defaults;
    ``method`` as shown in tables: a prior's display name, e.g. flowgmm-ae), the selected
    ``score``, its test metrics, ``val_auc``, the labels used, ``auc_seen`` / ``auc_unseen`` and
    ``auc:SUBTYPE`` where the data set has subtypes, ``minutes`` and the ``run`` folder; and
    diagnostics nothing chose from: ``test_auc[SCORE]`` for each score the run stored,
    ``val_auc_all[SCORE]`` (validation with every label, at the kept epoch), ``test_auc_last``,
    ``test_auc_best_val`` and ``test_auc_best_val_all`` (the test AUC each checkpoint rule would
    give)."""
    from flowgmm_ae.priors import prior_entry  # the registry's display names, read when collecting

    folders = sorted(
        {m.parent for p in map(Path, paths) for m in ([p / "metrics.json"] + list(p.rglob("*/metrics.json")))
         if m.is_file()}
    )  # fmt: skip
    rows = []
    for folder in folders:
        config, metrics = built_config(read_config(folder)), read_json(folder / "metrics.json")
        shown = (
            prior_entry(config.prior).display_name if get_method(config.method).uses_priors else config.method
        )
        test = metrics["scores"][metrics["score"]]["test"]
        labels = metrics.get("labels", {})
        subtypes = metrics.get("subtypes", {})
        selection = metrics.get("selection", {})
        rows.append(
            {
                **dataclasses.asdict(config),
                "method": shown,
                "score": metrics["score"],
                **{name: test[name] for name in RUN_METRICS},
                "val_auc": metrics["val"]["auc"],
                "n_labels_train": labels.get("train", ""),
                "n_labels_val": labels.get("validation", ""),
                "n_labels_total": labels.get("total", ""),
                "auc_seen": subtypes.get("seen", {}).get("auc", float("nan")),
                "auc_unseen": subtypes.get("unseen", {}).get("auc", float("nan")),
                **{
                    f"auc:{name}": entry["auc"]
                    for name, entry in subtypes.items()
                    if name not in ("seen", "unseen")
                },
                **score_diagnostics(metrics),
                **{
                    f"test_auc_{rule}": selection.get(key, {}).get("test_auc", float("nan"))
                    for rule, key in SELECTION_RULES.items()
                },
                "minutes": metrics["training"]["seconds"] / 60,
                "run": str(folder),
            }
        )
    return rows
