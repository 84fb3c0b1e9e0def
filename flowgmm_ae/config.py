"""Every option of a training run, as one dataclass (saved as a run's config.json) that is also the
schema of the command line (:mod:`flowgmm_ae.schema`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from flowgmm_ae.data import DEFAULT_DATASET
from flowgmm_ae.data.splits import CONTAMINATION_MODES, VAL_LABEL_POLICIES
from flowgmm_ae.data.transforms import FLIP_ROTATE_MODES
from flowgmm_ae.errors import DEVICES, ConfigError
from flowgmm_ae.methods import get_method, method_names, score_names
from flowgmm_ae.metrics import THRESHOLD_POLICIES
from flowgmm_ae.models import ENCODER_OBJECTIVES, NORMS, ModelConfig
from flowgmm_ae.objectives import POOL_OBJECTIVES
from flowgmm_ae.priors import prior_entry, prior_names
from flowgmm_ae.schema import PRIOR_GROUP, declared_fields, setting


@dataclass
class TrainConfig:
    """Every option of a training run; saved as config.json. Each field is declared with
    :func:`~flowgmm_ae.schema.setting`: the command line, ``ablate --grid`` and a grid cell's
    identity are generated from these declarations."""

    # --- data ------------------------------------------------------------------------------------
    method: str = setting(
        "aeflow",
        "aeflow (prior chosen by --prior) or a baseline (ae, cnn, deepsad, devnet, supervised, and any "
        "method registered with flowgmm_ae.register_method).",
        "data",
        choices=method_names,
    )
    dataset: str = setting(
        DEFAULT_DATASET,
        "Data set, or folder:PATH for your own (PATH/normal, PATH/abnormal, optionally under "
        "train/val/test, or a CSV manifest path,label[,split]). If left at the default and "
        "PneumoniaMNIST cannot be found or downloaded, training falls back to 'synthetic'.",
        "data",
        kind="dataset",
    )
    # False: the user named no data set, so a missing file falls back to synthetic.
    dataset_given: bool = setting(True, "Whether the data set was named.", "data", cell=False, cli=False)
    data_root: str | None = setting(
        None,
        "Folder (or file) holding the data; else $FLOWGMM_AE_DATA, then the cache.",
        "data",
        cell=False,
        kind="path",
    )
    val_frac: float = setting(
        0.1,
        "Validation part carved (seeded, stratified, whole patients where known) from train, for "
        "data sets without their own val split.",
        "data",
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    )
    group_pattern: str | None = setting(
        None,
        "folder: data sets: a regular expression searched in each file name whose first capture "
        "group (or whole match) is the patient, e.g. '^(p\\d+)_'; carved splits then take whole "
        "patients. A manifest's group column takes precedence.",
        "data",
    )
    strict: bool = setting(
        False, "Stop at an unreadable image file instead of skipping it.", "data", cell=False
    )
    cache_dir: str | None = setting(
        None,
        "Where decoded images are cached (default: $FLOWGMM_AE_CACHE, else ~/.cache/flowgmm_ae/decoded).",
        "data",
        cell=False,
        kind="dir",
    )
    use_cache: bool = setting(
        True, "Decode image files afresh and cache nothing.", "data", cell=False, flag="--no-cache"
    )
    image_size: int = setting(32, "Side of the square images the model sees (pixels).", "data", low=8)
    # --- protocol --------------------------------------------------------------------------------
    labeled_frac: float = setting(
        0.05,
        "Fraction of the train split's anomalies that are labeled (0: unsupervised).",
        "protocol",
        low=0.0,
        high=1.0,
    )
    n_labeled: int | None = setting(
        None, "Number of labeled anomalies instead of a fraction.", "protocol", low=0
    )
    labeled_subtypes: list[str] | None = setting(
        None,
        "Label only anomalies of these subtypes (comma-separated, e.g. bacteria; `data info` lists "
        "them): --labeled-frac of their training images, and validation keeps only their anomalies. "
        "The other subtypes stay out of training (or join the unlabeled pool under --contamination) "
        "and are scored as unseen.",
        "protocol",
    )
    contamination: float = setting(
        0.0,
        "Fraction of the unlabeled pool that are hidden anomalies.",
        "protocol",
        low=0.0,
        high=1.0,
        high_open=True,
    )
    contamination_mode: str = setting(
        "replace",
        "replace: the hidden anomalies take the place of as many normal images, so the pool has the "
        "same size at every --contamination; add: every normal image stays and the anomalies are "
        "added (the pool grows by c/(1 - c); the rule of earlier releases).",
        "protocol",
        choices=CONTAMINATION_MODES,
    )
    val_labels: str = setting(
        "budget",
        "budget: validation keeps every normal image but only --labeled-frac of its anomalies, so "
        "checkpoint, threshold and beta use no more labels than training (all are counted); all: "
        "every validation anomaly.",
        "protocol",
        choices=VAL_LABEL_POLICIES,
    )
    # --- prior and pool ----------------------------------------------------------------------------
    prior: str = setting(
        "gmm",
        "gmm: class-conditional mixture (uses labels); gaussian: unsupervised AE-FLOW.",
        PRIOR_GROUP,
        choices=prior_names,
    )
    # The anomalous fraction ε of the pool the objective assumes (None: `contamination`). A pool that
    # came contaminated, or a guess that differs from the truth, sets this alone.
    assumed_contamination: float | None = setting(
        None,
        "The anomalous fraction of the unlabeled pool that --pool assumes [default: --contamination]. "
        "Set it alone for a pool that came contaminated.",
        PRIOR_GROUP,
        low=0.0,
        high=1.0,
        high_open=True,
    )
    # "marginal" (FlowGMM's, needed by learn_weights) collapsed at 10 % on PneumoniaMNIST
    # (objectives.py).
    pool: str = setting(
        "trim",
        "How the mixture prior explains an unlabeled pool holding anomalies (--assumed-contamination): "
        "trim leaves each batch's most anomalous fraction out, marginal uses the mixture marginal "
        "(FlowGMM; collapsed at 10 % on PneumoniaMNIST), normal takes the pool as normal.",
        PRIOR_GROUP,
        choices=POOL_OBJECTIVES,
    )
    learn_weights: bool = setting(
        False,
        "Learn the mixture weights (the unlabeled pool's composition) instead of fixing them (needs "
        "--pool marginal).",
        PRIOR_GROUP,
    )
    freeze_means: bool = setting(False, "Keep the mixture means at their initial values.", PRIOR_GROUP)
    freeze_scales: bool = setting(
        False, "Keep the mixture scales at 1 (FlowGMM's identity covariances).", PRIOR_GROUP
    )
    class_weight: float = setting(
        0.0,
        "Weight γ of the cross-entropy of the mixture's class posterior p(y|x) (hybrid objective).",
        PRIOR_GROUP,
        low=0.0,
        aliases=("--gamma",),
    )
    consistency_weight: float = setting(
        0.0,
        "Weight of FlowGMM's consistency term: the NLL of each image's augmented view under the class "
        "the mixture predicts for a second augmented view of it (needs --prior gmm and augmentation; "
        "one more forward pass per step).",
        PRIOR_GROUP,
        low=0.0,
    )
    consistency_rampup: float = setting(
        0.2,
        "Share of the run's steps over which the consistency weight ramps up linearly from 0.",
        PRIOR_GROUP,
        low=0.0,
        high=1.0,
    )
    # --- model -----------------------------------------------------------------------------------
    stride: int | None = setting(
        None,
        "Encoder down-sampling factor (power of 2); default: a 4 x 4 latent, and 8 x 8 for AE-FLOW "
        "on colour images (chosen on validation AUC).",
        "model",
        low=1,
    )
    latent_channels: int | None = setting(
        None,
        "Channels of the latent z; default: 64 for flowgmm-ae (the mixture prior; its decoder then "
        "reconstructs; chosen on validation AUC), 16 for unsupervised AE-FLOW and the baselines.",
        "model",
        low=2,
    )
    base_width: int = setting(
        32, "Channels of the first encoder stage (doubling per stage, up to 256).", "model", low=1
    )
    encoder: str = setting(
        "conv",
        "conv: the small convolutional encoder; wrn50: AE-FLOW's Wide-ResNet-50-2 trunk (layer3, "
        "stride 16), frozen unless --finetune-encoder (aeflow only).",
        "model",
        choices=("conv", "wrn50"),
    )
    encoder_weights: str | None = setting(
        None,
        "A torchvision wide_resnet50_2 state dict (torch.save or .safetensors) for --encoder wrn50; "
        "ImageNet weights are not downloaded.",
        "model",
        kind="file",
    )
    finetune_encoder: bool = setting(False, "Train the wrn50 trunk too.", "model")
    norm: str = setting(
        "batch",
        "Normalisation in the conv encoder and the decoder (aeflow and the baselines built on them): "
        "batch (BatchNorm + ReLU; scores use its running statistics) or group (GroupNorm + SiLU). "
        "--method cnn always uses BatchNorm.",
        "model",
        choices=NORMS,
    )
    encoder_objective: str = setting(
        "auto",
        "What trains the encoder (aeflow only): joint, the whole objective; reconstruction, 1 - SSIM "
        "alone: the flow's likelihood stops at the encoder (a stop-gradient), so the features it "
        "scores are not shaped by the density that scores them; auto: the prior's default (joint "
        "for both; chosen on validation across data sets).",
        "model",
        choices=("auto", *ENCODER_OBJECTIVES),
        prior_only=True,
    )
    flow_steps: int = setting(4, "Glow steps of the latent flow.", "model", low=1)
    flow_hidden: int = setting(64, "Hidden channels of each coupling layer's network.", "model", low=1)
    latent_noise: float = setting(
        0.05, "Standard deviation of the dequantisation noise added to z in training.", "model", low=0.0
    )
    # --- optimisation ----------------------------------------------------------------------------
    epochs: int = setting(
        25,
        "Epochs: validation and a checkpoint after each. An epoch is several passes over the unlabeled "
        "images when --epochs passes would make fewer than --min-steps optimiser steps (the run says "
        "so); give --min-steps 0 for exactly one pass per epoch.",
        "optimisation",
        low=1,
    )
    min_steps: int = setting(
        400,
        "The fewest optimiser steps a run makes: each epoch is lengthened to several passes over the "
        "unlabeled images until --epochs epochs reach it (small data sets).",
        "optimisation",
        low=0,
    )
    batch_size: int = setting(64, "Unlabeled images per step.", "optimisation", low=2)
    labeled_batch_size: int = setting(
        16, "Labeled anomalies per step (drawn with replacement).", "optimisation", low=1
    )
    lr: float = setting(1e-3, "Adam's learning rate.", "optimisation", low=0.0, low_open=True)
    weight_decay: float = setting(0.0, "Adam's weight decay.", "optimisation", low=0.0)
    alpha: float = setting(
        0.5, "Weight of the likelihood terms against reconstruction.", "optimisation", low=0.0, high=1.0
    )
    labeled_weight: float = setting(
        1.0, "Weight λ of the labeled likelihood term.", "optimisation", low=0.0, aliases=("--lambda",)
    )
    augment: bool = setting(
        True, "Turn off the random shift / intensity jitter.", "optimisation", flag="--no-augment"
    )
    flip_rotate: str = setting(
        "auto",
        "Random flips and quarter turns of training images, besides the shift / jitter: labeled, "
        "of the labeled anomalies only (more views of the few labels); all, of every training image; "
        "none; auto: labeled where the training images have no preferred orientation (their mean "
        "image is nearly unchanged by flips and quarter turns, as for skin lesions), none otherwise "
        "(chest X-rays).",
        "optimisation",
        choices=FLIP_ROTATE_MODES,
    )
    pretrain_fraction: float | str = setting(
        "prior",
        "aeflow: first train the encoder and decoder as an autoencoder (1 - SSIM) on the unlabeled "
        "images for this share of the run's steps (added to them and counted in its time), so that "
        "the flow is fitted to features its likelihood did not shape. 0: no pretraining; prior: "
        "the prior's default (0.25 for gaussian, 0 for gmm; chosen on validation across data sets).",
        "optimisation",
        low=0.0,
        high=1.0,
        kind="prior_number",
        prior_only=True,
    )
    encoder_lr_scale: float | str = setting(
        "prior",
        "aeflow: the encoder's learning rate in the joint objective as a multiple of --lr (below 1 "
        "fine-tunes pretrained features gently); prior: the prior's default (0.1 for gaussian, 1 for gmm).",
        "optimisation",
        low=0.0,
        high=1.0,
        low_open=True,
        kind="prior_number",
        prior_only=True,
    )
    grad_clip: float = setting(10.0, "Gradient norm clipping.", "optimisation", low=0.0, low_open=True)
    max_bad_steps: int = setting(
        20, "Stop after this many non-finite losses in a row.", "optimisation", cell=False, low=1
    )
    precision: str = setting(
        "fp32",
        "bf16: autocast the encoder and decoder (for GPUs); the flow and prior stay float32.",
        "optimisation",
        choices=("fp32", "bf16"),
    )
    seed: int = setting(
        0, "Seed of the split, the labeled draw and training.", "optimisation", low=0, high=2**32 - 1
    )
    # --- scoring ---------------------------------------------------------------------------------
    beta: float | str = setting(
        "prior",
        "Weight of the flow score against the reconstruction score in 'combined': a number in [0, 1], "
        "'auto' to choose it on validation anomalies (0.9 without them), or 'prior', "
        "the prior's default (0.2 for gaussian, 0.9 for gmm as in AE-FLOW; chosen on validation "
        "across data sets).",
        "scoring",
        kind="beta",
        prior_only=True,
    )
    score: str = setting(
        "auto",
        "Score used for checkpoint selection and the headline metrics. auto: the method's own (the "
        "mixture's class posterior for flowgmm-ae with labels, else the combined score).",
        "scoring",
        choices=lambda: ("auto", *score_names()),
    )
    threshold_policy: str = setting(
        "auto",
        "How the threshold is chosen on validation: f1 (maximum F1, needs validation anomalies), "
        "normal-quantile (--normal-quantile of validation normal scores), auto (f1 where it can).",
        "scoring",
        choices=THRESHOLD_POLICIES,
    )
    normal_quantile: float = setting(
        0.95,
        "Quantile of validation normal scores for the normal-quantile threshold.",
        "scoring",
        low=0.0,
        high=1.0,
    )
    # With the few validation anomalies of --val-labels budget, "best" kept early epochs whose
    # validation AUC had saturated and lost test AUC
    # (benchmarks/results/detection_chestxray2017_32px_e25_honest/selection_rules.md).
    select: str = setting(
        "last",
        "Keep the last epoch, or the one with the best validation AUC (with a handful of validation "
        "anomalies it picks early, saturated epochs: see docs/results.md).",
        "scoring",
        choices=("best", "last"),
    )
    # --- run -------------------------------------------------------------------------------------
    device: str = setting(
        "auto",
        "auto: a CUDA GPU when PyTorch sees one, else the CPU.",
        "run",
        cell=False,
        choices=DEVICES,
    )
    loader_workers: int = setting(
        0,
        "Threads that read unlabeled batches ahead (useful on GPUs; the results do not change).",
        "run",
        cell=False,
        low=0,
    )
    checkpoint_every: int = setting(
        0,
        "Also checkpoint every N steps within an epoch (checkpoints are always written at every "
        "epoch's end).",
        "run",
        cell=False,
        low=0,
    )
    out: str | None = setting(
        None, "Run folder (default: a new folder under runs/).", "run", cell=False, kind="dir"
    )
    progress: bool = setting(True, "No progress bar.", "run", cell=False, flag="--quiet")

    def pool_contamination(self) -> float:
        """ε, the anomalous fraction of the unlabeled pool the objective and the mixture weights assume."""
        return self.contamination if self.assumed_contamination is None else self.assumed_contamination

    def pool_objective(self) -> str:
        """The pool objective in force: ``pool`` once ε > 0 (or the weights are learned), else "normal"."""
        return self.pool if self.pool_contamination() > 0 or self.learn_weights else "normal"

    def resolved_stride(self, in_channels: int) -> int:
        """``stride``, or the default for images of ``in_channels`` channels: the largest power of
        two that divides the image size and leaves a latent no smaller than the method's
        ``latent_side`` (4 x 4 on grey images; AE-FLOW: 8 x 8 on colour ones)."""
        if self.stride is not None:
            return self.stride
        if self.encoder == "wrn50":
            return 16
        # Grey: a 4 × 4 latent at every size; at 128 px on ChestXRay2017 stride 16 (8 × 8) stayed
        # at validation AUC 0.48 after 10 epochs, stride 32 (4 × 4) reached 0.77
        # (benchmarks/README.md), and at 32 px 8 × 8 lost about 0.1 on both chest X-ray sets
        # (docs/results.md). Colour images carry three values per pixel.
        grey_side, colour_side = get_method(self.method).latent_side
        min_side = colour_side if in_channels >= 3 else grey_side
        stride = 1
        while stride * 2 <= self.image_size // min_side and self.image_size % (stride * 2) == 0:
            stride *= 2
        return stride

    def resolved_latent_channels(self) -> int:
        """``latent_channels``, or the method's default for this configuration."""
        if self.latent_channels is not None:
            return self.latent_channels
        return get_method(self.method).default_latent_channels(self)

    def model_config(self, in_channels: int) -> ModelConfig:
        return ModelConfig(
            in_channels=in_channels,
            image_size=self.image_size,
            latent_channels=self.resolved_latent_channels(),
            stride=self.resolved_stride(in_channels),
            base_width=self.base_width,
            flow_steps=self.flow_steps,
            flow_hidden=self.flow_hidden,
            latent_noise=self.latent_noise,
            encoder=self.encoder,
            finetune_encoder=self.finetune_encoder,
            norm=self.norm,
            encoder_objective=self.resolved_encoder_objective(),
        )

    def uses_labels(self) -> bool:
        return get_method(self.method).uses_labels(self)

    def resolved_encoder_objective(self) -> str:
        """``encoder_objective``, with "auto" replaced by the prior's choice."""
        return str(self._prior_default("encoder_objective", "joint", word="auto"))

    def resolved_beta(self) -> float | str:
        """``beta``, with "prior" replaced by the prior's default β (a number, or "auto")."""
        return self._prior_default("beta", 0.9)

    def resolved_pretrain_fraction(self) -> float:
        """``pretrain_fraction``, with "prior" replaced by the prior's default."""
        return float(self._prior_default("pretrain_fraction", 0.0))

    def resolved_encoder_lr_scale(self) -> float:
        """``encoder_lr_scale``, with "prior" replaced by the prior's default."""
        return float(self._prior_default("encoder_lr_scale", 1.0))

    def resolved_prior_defaults(self) -> dict[str, float | str]:
        """The values the words "auto" and "prior" stood for in this run (recorded with it, so that
        a later change of a prior's defaults cannot relabel it)."""
        return {
            "encoder_objective": self.resolved_encoder_objective(),
            "beta": self.resolved_beta(),
            "pretrain_fraction": self.resolved_pretrain_fraction(),
            "encoder_lr_scale": self.resolved_encoder_lr_scale(),
        }

    def _prior_default(self, name: str, fallback: float | str, word: str = "prior") -> float | str:
        """The field ``name``, or where it holds ``word`` the prior's registered default for it."""
        value = getattr(self, name)
        if value != word:
            return value
        try:
            return getattr(prior_entry(self.prior), name)
        except ValueError:  # an unknown prior: validate() names it
            return fallback

    def _check_prior_numbers(self) -> None:
        """The fields of kind "prior_number" hold "prior" or a number within their bounds."""
        for field in declared_fields(type(self)):
            declared, value = field.setting, getattr(self, field.name)
            if declared.kind != "prior_number" or value == "prior":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{field.name}={value!r} must be a finite number or 'prior'", field.name)
            below = value <= declared.low if declared.low_open else value < declared.low
            above = value >= declared.high if declared.high_open else value > declared.high
            if below or above:
                left, right = "(" if declared.low_open else "[", ")" if declared.high_open else "]"
                raise ConfigError(
                    f"{field.name}={value} must lie in {left}{declared.low:g}, {declared.high:g}{right} "
                    "or be 'prior'",
                    field.name,
                )

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
        for declared in declared_fields(TrainConfig):
            allowed = declared.setting.choice_names()
            value = getattr(self, declared.name)
            if allowed is not None and value is not None and value not in allowed:
                message = f"{declared.name}={value!r}: choose from {', '.join(allowed)}"
                raise ConfigError(message, declared.name)
        self._check_prior_numbers()
        method.check(self)
        score = self.resolved_score()
        if score in ("posterior", "fused") and score in method.score_names and not self.uses_labels():
            raise ConfigError(
                f"score={score!r} uses the mixture's class posterior: it needs a prior that learns "
                f"from labels (prior='gmm'), not prior={self.prior!r}",
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
