"""Every option of a training run, as one dataclass (saved as a run's config.json)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from flowgmm_ae.data import DEFAULT_DATASET
from flowgmm_ae.errors import ConfigError
from flowgmm_ae.methods import get_method
from flowgmm_ae.models import ModelConfig


@dataclass
class TrainConfig:
    """Every option of a training run; saved as config.json."""

    method: str = "aeflow"  # aeflow (with --prior) or a baseline: ae, cnn, deepsad, devnet, supervised
    dataset: str = DEFAULT_DATASET
    dataset_given: bool = True  # False: the user named none, so a missing file falls back to synthetic
    data_root: str | None = None
    val_frac: float = 0.1  # validation part carved from train (data sets without their own val split)
    group_pattern: str | None = None  # folder: sets: regex whose first group is the patient id
    val_labels: str = "budget"  # "budget": validation keeps labeled_frac of its anomalies; "all": every one
    strict: bool = False  # stop at an unreadable image file instead of skipping it
    cache_dir: str | None = None  # decoded-image cache (None: $FLOWGMM_AE_CACHE or the user cache)
    use_cache: bool = True
    prior: str = "gmm"
    labeled_frac: float = 0.05
    n_labeled: int | None = None
    labeled_subtypes: list[str] | None = None  # label only these anomaly subtypes (None: every one)
    contamination: float = 0.0  # fraction of the unlabeled pool replaced by hidden anomalies
    # The anomalous fraction ε of the pool the objective assumes (None: `contamination`). A pool that
    # came contaminated, or a guess that differs from the truth, sets this alone.
    assumed_contamination: float | None = None
    # How the mixture explains a pool assumed to hold ε anomalies: "trim" leaves each batch's most
    # anomalous ⌈ε·B⌉ out; "marginal" (FlowGMM's, needed by learn_weights) collapsed at 10 % on
    # PneumoniaMNIST; "normal" takes the pool as normal (objectives.py)
    pool: str = "trim"
    learn_weights: bool = False
    freeze_means: bool = False  # keep the mixture means at their initial values
    freeze_scales: bool = False  # keep the mixture scales at 1 (FlowGMM's identity covariances)
    image_size: int = 32
    stride: int | None = None  # None: image_size // 4 (a 4 × 4 latent) when a power of two; wrn50: 16
    latent_channels: int = 16
    base_width: int = 32
    encoder: str = "conv"  # or "wrn50" (AE-FLOW's Wide-ResNet-50-2 trunk; aeflow only)
    encoder_weights: str | None = None  # a torchvision wide_resnet50_2 state dict file
    finetune_encoder: bool = False
    norm: str = "batch"  # encoder/decoder: "batch" (BatchNorm + ReLU) or "group" (GroupNorm + SiLU)
    flow_steps: int = 4
    flow_hidden: int = 64
    latent_noise: float = 0.05
    epochs: int = 25
    min_steps: int = 400  # lengthen each epoch (several passes) until this many steps run in all
    batch_size: int = 64
    labeled_batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.0
    alpha: float = 0.5
    labeled_weight: float = 1.0
    class_weight: float = 0.0  # γ: weight of the class-posterior cross-entropy (mixture prior only)
    beta: float | str = 0.9  # or "auto": chosen on validation
    augment: bool = True
    grad_clip: float = 10.0
    max_bad_steps: int = 20
    checkpoint_every: int = 0  # also checkpoint every N steps within an epoch (0: at epoch ends only)
    score: str = "auto"  # "auto": the method's own (resolved_score); or a name in its score_names
    threshold_policy: str = "auto"
    normal_quantile: float = 0.95
    # "last": the last epoch; "best": the epoch with the best validation AUC. With the few validation
    # anomalies of --val-labels budget, "best" kept early epochs whose validation AUC had saturated and
    # lost test AUC (benchmarks/results/detection_chestxray2017_32px_e25_honest/selection_rules.md).
    select: str = "last"
    seed: int = 0
    device: str = "auto"
    loader_workers: int = 0  # threads reading batches ahead (for GPUs; results do not change)
    precision: str = "fp32"  # or "bf16": autocast for encoder/decoder; flow and prior stay float32
    out: str | None = None
    progress: bool = True

    def pool_contamination(self) -> float:
        """ε, the anomalous fraction of the unlabeled pool the objective and the mixture weights assume."""
        return self.contamination if self.assumed_contamination is None else self.assumed_contamination

    def pool_objective(self) -> str:
        """The pool objective in force: ``pool`` once ε > 0 (or the weights are learned), else "normal"."""
        return self.pool if self.pool_contamination() > 0 or self.learn_weights else "normal"

    def resolved_stride(self) -> int:
        if self.stride is not None:
            return self.stride
        if self.encoder == "wrn50":
            return 16
        # A 4 × 4 latent at every size: at 128 px on ChestXRay2017 stride 16 (8 × 8) stayed at
        # validation AUC 0.48 after 10 epochs, stride 32 (4 × 4) reached 0.77 (benchmarks/README.md).
        # The largest power of two that divides the image size and leaves a latent of side ≥ 4.
        stride = 1
        while stride * 2 <= self.image_size // 4 and self.image_size % (stride * 2) == 0:
            stride *= 2
        return stride

    def model_config(self, in_channels: int) -> ModelConfig:
        return ModelConfig(
            in_channels=in_channels,
            image_size=self.image_size,
            latent_channels=self.latent_channels,
            stride=self.resolved_stride(),
            base_width=self.base_width,
            flow_steps=self.flow_steps,
            flow_hidden=self.flow_hidden,
            latent_noise=self.latent_noise,
            encoder=self.encoder,
            finetune_encoder=self.finetune_encoder,
            norm=self.norm,
        )

    def uses_labels(self) -> bool:
        return get_method(self.method).uses_labels(self)

    def resolved_score(self) -> str:
        """``score``, with "auto" replaced by the method's choice for this configuration."""
        return get_method(self.method).auto_score(self) if self.score == "auto" else self.score

    def run_name(self) -> str:
        return get_method(self.method).run_name(self)

    def validate(self) -> None:
        """Raise :class:`ConfigError`, naming the field, for an option no run can honour."""
        try:
            method = get_method(self.method)
        except ValueError as error:
            raise ConfigError(str(error), "method") from None
        method.check(self)
        score = self.resolved_score()
        if score == "posterior" and score in method.score_names and not self.uses_labels():
            raise ConfigError(
                f"score='posterior' is the mixture's class posterior: it needs a prior that learns from "
                f"labels (prior='gmm'), not prior={self.prior!r}",
                "score",
                "prior",
            )
        if score not in method.score_names:
            raise ConfigError(
                f"score={score!r} is not available for method={self.method!r} with prior={self.prior!r} "
                f"and these labels; this method gives {', '.join(method.score_names)}",
                "score",
            )
        for name, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{name}={value} must be a finite number", name)
        if self.assumed_contamination is not None and not 0 <= self.assumed_contamination < 1:
            raise ConfigError(
                f"assumed_contamination={self.assumed_contamination} must lie in [0, 1)",
                "assumed_contamination",
            )
        if self.lr <= 0:
            raise ConfigError(f"lr={self.lr} must be positive", "lr")
        if (self.encoder_weights or self.finetune_encoder) and self.encoder != "wrn50":
            raise ConfigError(
                "encoder_weights and finetune_encoder need encoder='wrn50'",
                "encoder_weights",
                "finetune_encoder",
                "encoder",
            )
        try:
            self.model_config(in_channels=1).validate()
        except ValueError as error:
            raise ConfigError(f"{error} (check image_size and stride)", "image_size", "stride") from None
