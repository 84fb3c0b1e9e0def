"""Baselines trained through flowgmm-ae's shared loop, split, batches and metrics.

- ``ae``: the same encoder/decoder without the flow, scored by 1 − SSIM (unsupervised);
- ``cnn``: a plain BatchNorm CNN classifier (about 0.4 M parameters), scored by its logit;
- ``deepsad``: Deep SAD (Ruff et al., ICLR 2020), semi-supervised hypersphere;
- ``devnet``: deviation networks (Pang et al., KDD 2019);
- ``supervised``: the encoder with a classification head, unlabeled images taken as normal.

Each is a :class:`flowgmm_ae.methods.Method` registered with ``@register_method`` when its module
is imported (the registry imports this package on first use); ``flowgmm-ae train --method NAME``
trains one, ``flowgmm-ae ablate --baselines ...`` adds them to a grid, and
:mod:`flowgmm_ae.baselines` has their estimators.
"""

from baselines.ae import AutoencoderBaseline
from baselines.cnn import CNNBaseline
from baselines.deepsad import DeepSADBaseline
from baselines.devnet import DevNetBaseline
from baselines.supervised import SupervisedBaseline

__all__ = [
    "AutoencoderBaseline",
    "CNNBaseline",
    "DeepSADBaseline",
    "DevNetBaseline",
    "SupervisedBaseline",
]
