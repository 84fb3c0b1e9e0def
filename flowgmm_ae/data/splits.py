"""The semi-supervised protocol: which training images are unlabeled and which anomalies are labeled.

- The unlabeled set U is every normal image of the train split. With ``contamination`` c a
  fraction c of U is unrevealed anomalies instead: under ``contamination_mode="replace"`` (the
  default) they take the place of as many normal images, so U has the same size at every c, as a
  user's pool would; ``"add"`` keeps every normal image and adds c·N/(1 − c) anomalies (the pool
  grows by c/(1 − c); the rule of earlier versions).
- The labeled set L is a seeded random fraction (``labeled_frac``, at least one image when > 0) or
  count (``n_labeled``) of the train split's anomalies, disjoint from those hidden in U.
- Validation anomaly labels are labels too: under ``--val-labels budget`` validation keeps all its
  normal images but only the same fraction of its anomalies (:func:`limit_validation_labels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch

from flowgmm_ae.data.base import ANOMALY_LABEL, NORMAL_LABEL, DataError, ImageArray, Split

CONTAMINATION_MODES = ("replace", "add")  # how hidden anomalies enter the unlabeled pool


@dataclass
class SemiSupervisedSplit:
    """Indices into the train split."""

    unlabeled: np.ndarray
    labeled: np.ndarray
    hidden_anomalies: np.ndarray  # anomalies placed, unlabeled, in U

    def to_dict(self) -> dict[str, list[int]]:
        return {
            "unlabeled": self.unlabeled.tolist(),
            "labeled": self.labeled.tolist(),
            "hidden_anomalies": self.hidden_anomalies.tolist(),
        }


def count_labeled(n_anomalies: int, labeled_frac: float | None, n_labeled: int | None) -> int:
    """How many anomalies to label: ``n_labeled`` if given, else the rounded fraction (≥ 1 if f > 0)."""
    if n_labeled is not None:
        if n_labeled < 0:
            raise DataError(f"n_labeled={n_labeled} must be ≥ 0")
        wanted = n_labeled
    else:
        frac = labeled_frac or 0.0
        if not 0.0 <= frac <= 1.0:
            raise DataError(f"labeled_frac={frac} must lie in [0, 1]")
        wanted = max(1, int(round(frac * n_anomalies))) if frac > 0 else 0
    if wanted > 0 and n_anomalies == 0:
        raise DataError(
            "labels were requested but the train split has no anomalous images; "
            "use labeled_frac=0 (--labeled-frac 0) for unsupervised training"
        )
    if wanted > n_anomalies:
        raise DataError(f"asked for {wanted} labeled anomalies but the train split has {n_anomalies}")
    return wanted


def anomaly_subtypes(labels: np.ndarray, subtypes: list[str] | None) -> list[str]:
    """The anomaly subtypes present among ``labels`` (sorted; empty without subtypes)."""
    if subtypes is None:
        return []
    return sorted({subtypes[i] for i in np.flatnonzero(np.asarray(labels) == ANOMALY_LABEL)})


def subtype_mask(
    labels: np.ndarray, subtypes: list[str] | None, labeled_subtypes: Sequence[str] | None
) -> np.ndarray:
    """Which images are anomalies that may be labeled: every anomaly, or (``labeled_subtypes``)
    only those subtypes'. An unknown subtype name is an error that lists the subtypes there are."""
    labels = np.asarray(labels).reshape(-1)
    anomalous = labels == ANOMALY_LABEL
    if labeled_subtypes is None:
        return anomalous
    known = anomaly_subtypes(labels, subtypes)
    if not known:
        raise DataError("labeled subtypes were named but this data set has no anomaly subtypes")
    unknown = sorted(set(labeled_subtypes) - set(known))
    if unknown:
        raise DataError(f"unknown anomaly subtypes {unknown}; this data set has {known}")
    return anomalous & _of_subtypes(subtypes, labeled_subtypes)


def _of_subtypes(subtypes: list[str], names: Sequence[str]) -> np.ndarray:
    """Which images are of one of the subtypes ``names`` (no check that the names exist)."""
    return np.isin(np.asarray(subtypes, dtype=object), list(names))


def make_split(
    train_labels: np.ndarray,
    labeled_frac: float | None = 0.0,
    n_labeled: int | None = None,
    contamination: float = 0.0,
    seed: int = 0,
    subtypes: list[str] | None = None,
    labeled_subtypes: Sequence[str] | None = None,
    contamination_mode: str = "replace",
) -> SemiSupervisedSplit:
    """Draw the labeled anomalies and the unlabeled pool from the train split's labels.

    With ``labeled_subtypes`` the labeled anomalies come only from those subtypes (``labeled_frac``
    of their images); every other anomaly stays out of training, or joins the unlabeled pool
    under ``contamination``."""
    labels = np.asarray(train_labels).reshape(-1)
    normals = np.flatnonzero(labels == NORMAL_LABEL)
    anomalies = np.flatnonzero(labels == ANOMALY_LABEL)
    if len(normals) == 0:
        raise DataError("the train split has no normal images to form the unlabeled set")
    if not 0.0 <= contamination < 1.0:
        raise DataError(f"contamination={contamination} must lie in [0, 1)")
    if contamination_mode not in CONTAMINATION_MODES:
        raise DataError(
            f"contamination_mode={contamination_mode!r}: choose from {', '.join(CONTAMINATION_MODES)}"
        )
    eligible = np.flatnonzero(subtype_mask(labels, subtypes, labeled_subtypes))
    n_lab = count_labeled(len(eligible), labeled_frac, n_labeled)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(eligible)
    labeled = np.sort(shuffled[:n_lab])
    if labeled_subtypes is None:
        remaining = shuffled[n_lab:]
    else:  # every unlabeled anomaly, of any subtype, may be hidden in the pool
        remaining = rng.permutation(np.setdiff1d(anomalies, labeled))
    if contamination_mode == "add":
        n_hidden = int(round(contamination * len(normals) / (1.0 - contamination)))
    else:
        n_hidden = int(round(contamination * len(normals)))
    if n_hidden > len(remaining):
        raise DataError(
            f"contamination {contamination} needs {n_hidden} unlabeled anomalies but only "
            f"{len(remaining)} train anomalies are left after labeling {n_lab}"
        )
    hidden = np.sort(remaining[:n_hidden])
    if contamination_mode == "replace" and n_hidden:
        # Drawn after every other draw, so the labeled anomalies and the hidden ones are those the
        # same seed gives at any contamination; the clean and the contaminated runs then pair.
        normals = np.sort(rng.permutation(normals)[: len(normals) - n_hidden])
    unlabeled = np.sort(np.concatenate([normals, hidden]))
    return SemiSupervisedSplit(unlabeled=unlabeled, labeled=labeled, hidden_anomalies=hidden)


# --- how many anomaly labels validation may use -------------------------------------------------
VAL_LABEL_POLICIES = ("budget", "all")


def subset_split(split: Split, index: np.ndarray) -> Split:
    """The rows ``index`` of ``split`` (images, labels and every per-image list such as names)."""
    index = np.asarray(index, dtype=np.int64)
    if isinstance(split.images, ImageArray):
        images: torch.Tensor | ImageArray = ImageArray(split.images.pixels, split.images.rows[index])
    else:
        images = split.images[torch.as_tensor(index)]
    per_image = {}
    for item in fields(split):
        values = getattr(split, item.name)
        if item.name not in ("images", "labels"):
            per_image[item.name] = None if values is None else [values[i] for i in index]
    return Split(images=images, labels=split.labels[index], **per_image)


def validation_anomaly_budget(
    n_val_anomalies: int, n_train_anomalies: int, labeled_frac: float | None, n_labeled: int | None
) -> int:
    """Validation anomalies a run may use under ``--val-labels budget``: the same fraction of them as
    of the train split's anomalies is labeled (at least one when that fraction is above 0)."""
    if n_labeled is not None:
        frac = n_labeled / n_train_anomalies if n_train_anomalies else 0.0
    else:
        frac = labeled_frac or 0.0
    if frac <= 0 or n_val_anomalies == 0:
        return 0
    return min(n_val_anomalies, max(1, int(round(frac * n_val_anomalies))))


@dataclass
class ValidationLabels:
    """The validation split a run may use, and the anomalies it must not (kept for diagnostics)."""

    used: Split
    held_out: Split | None  # validation anomalies whose labels the budget does not allow
    n_anomalies_available: int
    used_index: np.ndarray  # rows of the data set's validation split in ``used``

    @property
    def n_anomalies_used(self) -> int:
        return int((self.used.labels == ANOMALY_LABEL).sum())


def limit_validation_labels(
    val: Split,
    n_train_anomalies: int,
    policy: str = "budget",
    labeled_frac: float | None = 0.0,
    n_labeled: int | None = None,
    seed: int = 0,
    labeled_subtypes: Sequence[str] | None = None,
) -> ValidationLabels:
    """Keep every validation normal image and, with ``policy="budget"``, only a seeded random
    ``labeled_frac`` of the validation anomalies: checkpoint choice, thresholds and β then use no
    more anomaly labels than training had, and every one of them is counted. With
    ``labeled_subtypes`` (``n_train_anomalies`` then counts those subtypes' training anomalies)
    only anomalies of those subtypes are kept, under either policy: a clinic holds no labels of
    the others."""
    if policy not in VAL_LABEL_POLICIES:
        raise DataError(f"unknown validation-label policy {policy!r}; choose from {VAL_LABEL_POLICIES}")
    anomalous = val.labels == ANOMALY_LABEL
    if labeled_subtypes is not None and val.subtypes is not None:
        # Unchecked: a subtype may have training images and none in validation.
        anomalous &= _of_subtypes(val.subtypes, labeled_subtypes)
    anomalies = np.flatnonzero(anomalous)
    if policy == "all" and labeled_subtypes is None:
        return ValidationLabels(val, None, len(anomalies), np.arange(len(val)))
    if policy == "all":
        wanted = len(anomalies)
    else:
        wanted = validation_anomaly_budget(len(anomalies), n_train_anomalies, labeled_frac, n_labeled)
    # A stream of its own: the labeled training draw (make_split) uses default_rng(seed).
    kept = np.random.default_rng([seed, 1]).permutation(anomalies)[:wanted]
    keep = np.zeros(len(val), dtype=bool)
    keep[val.labels == NORMAL_LABEL] = True
    keep[kept] = True
    held = np.flatnonzero(~keep)
    return ValidationLabels(
        used=subset_split(val, np.flatnonzero(keep)),
        held_out=subset_split(val, held) if len(held) else None,
        n_anomalies_available=len(anomalies),
        used_index=np.flatnonzero(keep),
    )
