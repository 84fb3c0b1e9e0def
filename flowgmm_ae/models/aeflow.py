"""AE-FLOW (Zhao, Ding, Zhang, ICLR 2023) with a swappable latent prior.

x --encoder--> z --flow--> z' --decoder--> x̂, and p(z') is a :class:`~flowgmm_ae.priors.LatentPrior`
(standard Gaussian: AE-FLOW; Gaussian mixture: FlowGMM). The exact log-density of the feature map
z is log p(f(z)) + log|det ∂f/∂z|. Example::

    model = AEFlow(ModelConfig(image_size=32), prior=GaussianMixture(dim=16 * 4 * 4))
    out = model(x)   # out.z_prime, out.log_det, out.x_hat
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from flowgmm_ae.models.autoencoder import Decoder, Encoder, check_norm
from flowgmm_ae.models.flow import LatentFlow
from flowgmm_ae.models.wide_resnet import TRUNK_STRIDE, PretrainedEncoder
from flowgmm_ae.priors import LatentPrior

ENCODERS = ("conv", "wrn50")
ENCODER_OBJECTIVES = ("joint", "reconstruction")


@dataclass
class ModelConfig:
    """Architecture hyper-parameters; stored in each run's config.json to rebuild the model."""

    in_channels: int = 1
    image_size: int = 32
    latent_channels: int = 16
    stride: int = 8
    base_width: int = 32
    max_width: int = 256
    flow_steps: int = 4
    flow_hidden: int = 64
    latent_noise: float = 0.05
    encoder: str = "conv"  # or "wrn50": AE-FLOW's Wide-ResNet-50-2 trunk (stride 16)
    finetune_encoder: bool = False  # train the wrn50 trunk too (it is frozen by default)
    # Normalisation of the conv encoder and the decoder: "batch" (BatchNorm + ReLU) or "group"
    # (GroupNorm + SiLU). Run folders written before this option existed lack the key: they are
    # "group" (flowgmm_ae.runs.LEGACY_NORM).
    norm: str = "batch"
    # What trains the encoder: "joint" (the whole objective) or "reconstruction" (1 - SSIM only:
    # the likelihood's gradient stops at the encoder's output). Older run folders lack the key:
    # they are "joint".
    encoder_objective: str = "joint"

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        side = self.image_size // self.stride
        return (self.latent_channels, side, side)

    @property
    def latent_dim(self) -> int:
        c, h, w = self.latent_shape
        return c * h * w

    def validate(self) -> None:
        """Raise ValueError, naming the option, if these settings cannot build a model."""
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; choose one of {', '.join(ENCODERS)}")
        check_norm(self.norm)
        if self.encoder_objective not in ENCODER_OBJECTIVES:
            raise ValueError(
                f"unknown encoder objective {self.encoder_objective!r}; choose one of "
                f"{', '.join(ENCODER_OBJECTIVES)}"
            )
        if self.encoder == "wrn50" and self.stride != TRUNK_STRIDE:
            raise ValueError(
                f"encoder='wrn50' down-samples by {TRUNK_STRIDE}, not by the stride {self.stride}"
            )
        if self.stride < 1 or self.stride & (self.stride - 1):
            raise ValueError(f"the encoder stride must be a power of two, got {self.stride}")
        if self.image_size % self.stride != 0 or self.image_size < self.stride:
            raise ValueError(
                f"image size {self.image_size} must be a positive multiple of the encoder stride "
                f"{self.stride}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AEFlowOutput:
    z: torch.Tensor  # encoder features (B, c, h, w)
    z_prime: torch.Tensor  # flow output (B, c, h, w)
    log_det: torch.Tensor  # log|det ∂z'/∂z| (B,)
    x_hat: torch.Tensor  # reconstruction (B, C, H, W)


class AEFlow(nn.Module):
    """Encoder → normalizing flow → decoder, with the prior over the flow output as a submodule."""

    def __init__(self, config: ModelConfig, prior: LatentPrior) -> None:
        super().__init__()
        config.validate()
        if prior.dim != config.latent_dim:
            raise ValueError(f"prior dim {prior.dim} != latent dim {config.latent_dim}")
        self.config = config
        kwargs = dict(
            latent_channels=config.latent_channels,
            stride=config.stride,
            base_width=config.base_width,
            max_width=config.max_width,
            norm=config.norm,
        )
        self.encoder: nn.Module = (
            PretrainedEncoder(config.in_channels, config.latent_channels, frozen=not config.finetune_encoder)
            if config.encoder == "wrn50"
            else Encoder(in_channels=config.in_channels, **kwargs)
        )
        self.flow = LatentFlow(config.latent_channels, config.flow_steps, config.flow_hidden)
        self.decoder = Decoder(out_channels=config.in_channels, **kwargs)
        self.prior = prior

    def forward(self, x: torch.Tensor) -> AEFlowOutput:
        z = self.encoder(x)
        if self.training and self.config.latent_noise > 0:
            # Dequantisation noise: without it the encoder can squeeze z onto a thin surface and
            # the NLL per dimension falls without bound (see docs/design.md).
            z = z + self.config.latent_noise * torch.randn_like(z)
        # Under bf16 autocast (--precision bf16) the flow, its log-determinant and hence the
        # likelihood stay in float32; only the convolutional encoder and decoder run in bf16.
        with torch.autocast(z.device.type, enabled=False):
            z_prime, log_det = self.flow(z.float())
            decoded = z_prime
            if self.training and self.config.encoder_objective == "reconstruction":
                # A stop-gradient: the likelihood sees the flow of a detached z, so it trains the
                # flow and the prior but not the encoder, which cannot learn to make every image
                # dense; the decoder still reconstructs through the flow of the live z.
                z_prime, log_det = self.flow(z.detach().float())
        x_hat = self.decoder(decoded).float()
        return AEFlowOutput(z=z, z_prime=z_prime, log_det=log_det, x_hat=x_hat)

    def log_likelihood(self, out: AEFlowOutput, y: torch.Tensor | None = None) -> torch.Tensor:
        """(B,) exact log p(z) = log p(z' | y) + log|det ∂z'/∂z|, in nats."""
        return self.prior.log_prob(out.z_prime, y) + out.log_det
