"""flowgmm-ae: semi-supervised medical-image anomaly detection.

AE-FLOW (Zhao, Ding, Zhang, ICLR 2023) with its latent prior swappable between a standard Gaussian
(unsupervised, as published) and a class-conditional Gaussian mixture (FlowGMM, Izmailov et al.,
ICML 2020) trained on unlabeled normal images plus a few labeled anomalies.
"""

__version__ = "0.1.0"
