"""Baselines trained through flowgmm-ae's shared loop, split, batches and metrics, with their
estimators. Installed as ``flowgmm_ae.baselines`` (the folder ``baselines/`` of the repository);
nothing is installed under the bare name ``baselines``.

- ``ae`` (:class:`Autoencoder`): the same encoder/decoder without the flow, scored by 1 − SSIM
  (unsupervised);
- ``cnn`` (:class:`CNN`): a plain BatchNorm CNN classifier (about 0.4 M parameters), scored by its
  logit;
- ``deepsad`` (:class:`DeepSAD`): Deep SAD (Ruff et al., ICLR 2020), semi-supervised hypersphere;
- ``devnet`` (:class:`DevNet`): deviation networks (Pang et al., KDD 2019);
- ``supervised`` (:class:`Supervised`): the encoder with a classification head, unlabeled images
  taken as normal.

Each method is a :class:`flowgmm_ae.methods.Method` registered with ``@register_method`` when its
module is imported (the registry imports this package on first use); ``flowgmm-ae train --method
NAME`` trains one.

    from flowgmm_ae.baselines import CNN
    clf = CNN(epochs=25).fit(x, y)   # y: 1 = known anomaly, 0 = unlabeled
"""

from flowgmm_ae.baselines.ae import AutoencoderBaseline
from flowgmm_ae.baselines.cnn import CNNBaseline
from flowgmm_ae.baselines.deepsad import DeepSADBaseline
from flowgmm_ae.baselines.devnet import DevNetBaseline
from flowgmm_ae.baselines.estimators import CNN, Autoencoder, DeepSAD, DevNet, Supervised
from flowgmm_ae.baselines.supervised import SupervisedBaseline

__all__ = [
    "CNN",
    "Autoencoder",
    "AutoencoderBaseline",
    "CNNBaseline",
    "DeepSAD",
    "DeepSADBaseline",
    "DevNet",
    "DevNetBaseline",
    "Supervised",
    "SupervisedBaseline",
]
