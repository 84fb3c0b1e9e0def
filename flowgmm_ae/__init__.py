"""flowgmm-ae: semi-supervised medical-image anomaly detection.

AE-FLOW (Zhao, Ding, Zhang, ICLR 2023) with its latent prior swappable between a standard Gaussian
(unsupervised, as published) and a class-conditional Gaussian mixture (FlowGMM, Izmailov et al.,
ICML 2020) trained on unlabeled normal images plus a few labeled anomalies.

    from flowgmm_ae import FlowGMMAE
    det = FlowGMMAE().fit(x, y)            # y: 1 = known anomaly, 0 = unlabeled
    scores = det.decision_function(x_test)  # higher = more anomalous

The baselines' estimators are in :mod:`flowgmm_ae.baselines`; new methods and priors register
themselves (:func:`register_method`, :func:`register_prior`). Importing the package changes no
process-wide state; :func:`keep_freed_memory` is the opt-in malloc setting the command line uses.
"""

from flowgmm_ae.config import TrainConfig  # noqa: E402  (after the version, on purpose)
from flowgmm_ae.estimators import Detector, FlowGMMAE  # noqa: E402
from flowgmm_ae.methods import Method, StepLoss, get_method, method_names, register_method  # noqa: E402
from flowgmm_ae.priors import LatentPrior, build_prior, prior_names, register_prior  # noqa: E402
from flowgmm_ae.runtime import keep_freed_memory  # noqa: E402
from flowgmm_ae.training import train  # noqa: E402  (one run folder, as `flowgmm-ae train`)
from flowgmm_ae.version import __version__  # first: every other module may read it

__all__ = [
    "Detector",
    "FlowGMMAE",
    "LatentPrior",
    "Method",
    "StepLoss",
    "TrainConfig",
    "__version__",
    "build_prior",
    "get_method",
    "keep_freed_memory",
    "method_names",
    "prior_names",
    "register_method",
    "register_prior",
    "train",
]
