"""The pure torch model: encoder → normalizing flow → decoder (AE-FLOW), with a swappable prior."""

from flowgmm_ae.models.aeflow import ENCODER_OBJECTIVES, AEFlow, AEFlowOutput, ModelConfig
from flowgmm_ae.models.autoencoder import NORMS, Decoder, Encoder
from flowgmm_ae.models.flow import LatentFlow

__all__ = [
    "ENCODER_OBJECTIVES",
    "AEFlow",
    "AEFlowOutput",
    "ModelConfig",
    "NORMS",
    "Decoder",
    "Encoder",
    "LatentFlow",
]
