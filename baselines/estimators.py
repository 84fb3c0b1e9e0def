"""Estimators of the baselines: the same ``fit`` / ``decision_function`` / ``predict`` / ``save``
contract as :class:`flowgmm_ae.FlowGMMAE`.

    from flowgmm_ae.baselines import CNN
    clf = CNN(epochs=25).fit(x, y)   # y: 1 = known anomaly, 0 = unlabeled
"""

from __future__ import annotations

from flowgmm_ae.estimators import Detector


class Autoencoder(Detector):
    """AE-FLOW's encoder and decoder without the flow, scored by 1 − SSIM (unsupervised)."""

    method = "ae"


class CNN(Detector):
    """A plain BatchNorm CNN classifier, unlabeled images taken as normal; scored by its logit."""

    method = "cnn"


class DeepSAD(Detector):
    """Deep SAD (Ruff et al., ICLR 2020): a semi-supervised hypersphere."""

    method = "deepsad"


class DevNet(Detector):
    """Deviation networks (Pang et al., KDD 2019)."""

    method = "devnet"


class Supervised(Detector):
    """AE-FLOW's encoder with a linear classification head, unlabeled images taken as normal."""

    method = "supervised"


__all__ = ["CNN", "Autoencoder", "DeepSAD", "DevNet", "Supervised"]
