"""The semi-supervised protocol: which training images are unlabeled and which anomalies are labeled.

- The unlabeled set U is every normal image of the train split, plus (with ``contamination`` c)
  unrevealed anomalies until they make up a fraction c of U.
- The labeled set L is a seeded random fraction (``labeled_frac``, at least one image when > 0) or
  count (``n_labeled``) of the train split's anomalies, disjoint from those hidden in U.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowgmm_ae.data.base import ANOMALY_LABEL, NORMAL_LABEL, DataError


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
            raise DataError(f"--n-labeled must be ≥ 0, got {n_labeled}")
        wanted = n_labeled
    else:
        frac = labeled_frac or 0.0
        if not 0.0 <= frac <= 1.0:
            raise DataError(f"--labeled-frac must lie in [0, 1], got {frac}")
        wanted = max(1, int(round(frac * n_anomalies))) if frac > 0 else 0
    if wanted > 0 and n_anomalies == 0:
        raise DataError(
            "labels were requested but the train split has no anomalous images; "
            "use --labeled-frac 0 for unsupervised training"
        )
    if wanted > n_anomalies:
        raise DataError(f"asked for {wanted} labeled anomalies but the train split has {n_anomalies}")
    return wanted


def make_split(
    train_labels: np.ndarray,
    labeled_frac: float | None = 0.0,
    n_labeled: int | None = None,
    contamination: float = 0.0,
    seed: int = 0,
) -> SemiSupervisedSplit:
    """Draw the labeled anomalies and the unlabeled pool from the train split's labels."""
    labels = np.asarray(train_labels).reshape(-1)
    normals = np.flatnonzero(labels == NORMAL_LABEL)
    anomalies = np.flatnonzero(labels == ANOMALY_LABEL)
    if len(normals) == 0:
        raise DataError("the train split has no normal images to form the unlabeled set")
    if not 0.0 <= contamination < 1.0:
        raise DataError(f"--contamination must lie in [0, 1), got {contamination}")
    n_lab = count_labeled(len(anomalies), labeled_frac, n_labeled)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(anomalies)
    labeled = np.sort(shuffled[:n_lab])
    n_hidden = int(round(contamination * len(normals) / (1.0 - contamination)))
    remaining = shuffled[n_lab:]
    if n_hidden > len(remaining):
        raise DataError(
            f"contamination {contamination} needs {n_hidden} unlabeled anomalies but only "
            f"{len(remaining)} train anomalies are left after labeling {n_lab}"
        )
    hidden = np.sort(remaining[:n_hidden])
    unlabeled = np.sort(np.concatenate([normals, hidden]))
    return SemiSupervisedSplit(unlabeled=unlabeled, labeled=labeled, hidden_anomalies=hidden)
