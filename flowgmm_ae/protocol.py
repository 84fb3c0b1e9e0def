"""The honest protocol applied to a data set: which training images are unlabeled, which
anomalies are labeled, which validation labels selection may see, and how many labels that is.

Shared by the command line (:mod:`flowgmm_ae.training`) and the Python API
(:meth:`flowgmm_ae.estimators.Detector.fit` given an :class:`~flowgmm_ae.data.ImageDataset`), so
both train on the same images in the same order.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import torch

from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data import ImageDataset, SemiSupervisedSplit, make_split
from flowgmm_ae.data.splits import ValidationLabels, limit_validation_labels, subtype_mask
from flowgmm_ae.loop import TrainingData
from flowgmm_ae.methods import get_method

log = logging.getLogger("flowgmm_ae.training")


@dataclass
class ProtocolSplit:
    """A data set cut for one run: the split of its train images, the validation labels the run
    may use, the data set with only those validation images, and the loop's view of it all."""

    dataset: ImageDataset
    split: SemiSupervisedSplit
    val_labels: ValidationLabels
    data: TrainingData


def apply_protocol(dataset: ImageDataset, config: TrainConfig, announce: bool = True) -> ProtocolSplit:
    """Cut ``dataset`` as ``config`` says (labeled fraction or count, subtypes, contamination,
    validation-label policy); with ``announce``, log the labels used."""
    split = make_split(
        dataset.train.labels,
        config.labeled_frac,
        config.n_labeled,
        config.contamination,
        config.seed,
        subtypes=dataset.train.subtypes,
        labeled_subtypes=config.labeled_subtypes,
        contamination_mode=config.contamination_mode,
    )
    if len(split.labeled) and not config.uses_labels() and announce:
        hint = (
            "use prior='gmm' to train with them" if config.method == "aeflow" else "the method ignores labels"
        )
        log.warning(f"{config.run_name()}: the {len(split.labeled)} labeled anomalies are unused ({hint})")
    uses_prior = get_method(config.method).uses_priors
    marginal = config.pool_objective() == "marginal"
    if announce and uses_prior and config.uses_labels() and marginal:
        log.warning(
            "pool='marginal' explains the contaminated unlabeled pool by the mixture marginal; on "
            "PneumoniaMNIST at 10 % this collapsed (the anomaly component took the normal images: "
            "test AUC 0.30, README 'Unlabeled pools that hold anomalies'); pool='trim' did not"
        )
    labelable = subtype_mask(dataset.train.labels, dataset.train.subtypes, config.labeled_subtypes)
    val_labels = limit_validation_labels(
        dataset.val,
        n_train_anomalies=int(labelable.sum()),
        policy=config.val_labels,
        labeled_frac=config.labeled_frac,
        n_labeled=config.n_labeled,
        seed=config.seed,
        labeled_subtypes=config.labeled_subtypes,
    )
    dataset = dataclasses.replace(dataset, val=val_labels.used)  # all that selection may see
    if announce:
        _log_label_use(config, split, val_labels)
    data = TrainingData(
        images=dataset.train.images,  # fetched batch by batch: it may be memory-mapped
        unlabeled=torch.as_tensor(split.unlabeled, dtype=torch.long),
        labeled=torch.as_tensor(split.labeled if config.uses_labels() else [], dtype=torch.long),
        val=dataset.val,
        held_out=val_labels.held_out,
    )
    return ProtocolSplit(dataset, split, val_labels, data)


def label_counts(
    config: TrainConfig, split: SemiSupervisedSplit, val_labels: ValidationLabels
) -> dict[str, int]:
    """Anomaly labels a run used: in training, in validation (checkpoint, threshold, β) and both."""
    train_labels = len(split.labeled) if config.uses_labels() else 0
    val_count = val_labels.n_anomalies_used
    return {"train": train_labels, "validation": val_count, "total": train_labels + val_count}


def _log_label_use(config: TrainConfig, split: SemiSupervisedSplit, val_labels: ValidationLabels) -> None:
    counts = label_counts(config, split, val_labels)
    log.info(
        f"anomaly labels used: {counts['train']} in training + {counts['validation']} of "
        f"{val_labels.n_anomalies_available} in validation (val_labels={config.val_labels!r}) "
        f"= {counts['total']}"
    )
    if counts["validation"] == 0:
        log.info(
            "validation holds no anomaly labels: the last epoch is kept and thresholds are the "
            f"{config.normal_quantile:g} quantile of validation normal scores"
        )
