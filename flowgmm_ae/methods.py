"""What a detector is, and the registry of detectors: the base module, knowing no concrete method.

A :class:`Method` says how to build its torch module, how to initialise it from data, its loss on
one step (an unlabeled batch and a labeled batch of anomalies), its optimiser and schedule, and its
scores; the loop in :mod:`flowgmm_ae.loop` trains any of them the same way. A method registers
itself with :func:`register_method`; the CLI's ``--method`` choices, ``ablate``'s axes and the
config's checks all read this registry. AE-FLOW with either prior lives in
:mod:`flowgmm_ae.aeflow_method`; the baselines in :mod:`flowgmm_ae.baselines`. Both are imported
on the registry's first use (:data:`BUILTIN_MODULES`), never by this module at import time, so
nothing here imports its own plug-ins back.

Adding a method: subclass :class:`Method` in a new file and decorate it with
``@register_method`` (docs/extending.md). An installed distribution registers its methods by
naming the module that defines them in the entry-point group ``flowgmm_ae.methods``
(:data:`PLUGIN_GROUP`); the registry imports it on first use too.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch
from torch import nn

from flowgmm_ae.errors import ConfigError

if TYPE_CHECKING:
    from flowgmm_ae.config import TrainConfig


@dataclass
class StepLoss:
    """One step's loss to minimise and the parts to log (floats)."""

    total: torch.Tensor
    parts: dict[str, float] = field(default_factory=dict)


class Method:
    """Base class of a detector trained by the shared loop."""

    name: str = ""
    score_names: tuple[str, ...] = ()
    default_score: str = ""
    has_maps: bool = False
    # True for a method whose variants are the registered latent priors (AE-FLOW): ``ablate`` then
    # names its cells after the prior (``--priors``); every other method is a baseline.
    uses_priors: bool = False
    # Share of the run's optimiser steps spent in :meth:`pretrain` before the first step (0: none).
    pretrain_fraction: float = 0.0
    # Side of the default latent (TrainConfig.resolved_stride) for grey and for colour images.
    latent_side: tuple[int, int] = (4, 4)
    # Channels of the default latent (TrainConfig.resolved_latent_channels).
    latent_channels: int = 16

    def uses_labels(self, config: TrainConfig) -> bool:
        return True

    def pretrain_share(self, config: TrainConfig) -> float:
        """Share of the run's optimiser steps spent in :meth:`pretrain` (default:
        ``pretrain_fraction``, a method's fixed choice)."""
        return self.pretrain_fraction

    def auto_score(self, config: TrainConfig) -> str:
        """The score ``score="auto"`` (the default) means for this configuration."""
        return self.default_score

    def default_latent_channels(self, config: TrainConfig) -> int:
        """Channels of the latent when ``latent_channels`` is not given (default: the method's
        ``latent_channels``)."""
        return self.latent_channels

    def run_name(self, config: TrainConfig) -> str:
        """Short name of a run of this method, used in run-folder names."""
        return self.name

    def check(self, config: TrainConfig) -> None:
        """Raise ConfigError, naming the TrainConfig field, for options this method cannot honour."""
        if config.encoder != "conv":
            raise ConfigError(f"encoder={config.encoder!r} is for method='aeflow' only", "encoder")
        if config.pretrain_fraction not in ("prior", 0) or config.encoder_lr_scale not in ("prior", 1):
            raise ConfigError(
                "pretrain_fraction and encoder_lr_scale are for method='aeflow' only",
                "pretrain_fraction",
                "encoder_lr_scale",
            )
        refuse_mixture_terms(config)

    def build(self, config: TrainConfig, in_channels: int) -> nn.Module:
        raise NotImplementedError

    def pretrain(
        self,
        model: nn.Module,
        draw_unlabeled: Callable[[torch.Generator], torch.Tensor],
        steps: int,
        config: TrainConfig,
    ) -> None:
        """Pretraining for ``steps`` steps on batches ``draw_unlabeled(generator)`` drawn from the
        whole unlabeled set; runs before :meth:`initialise` when :meth:`pretrain_share` > 0."""

    def initialise(self, model: nn.Module, x_unlabeled: torch.Tensor, config: TrainConfig) -> None:
        """Data-dependent initialisation before the first step, from up to 256 unlabeled images
        (default: nothing)."""

    def wants_second_view(self, config: TrainConfig) -> bool:
        """Whether :meth:`loss` takes a second augmented view of the step's images (``second_view``,
        unlabeled then labeled, as ``x_unlabeled`` and ``x_labeled``) and the share of the run done
        (``progress``, in [0, 1]) as keyword arguments (default: no)."""
        return False

    def loss(
        self,
        model: nn.Module,
        x_unlabeled: torch.Tensor,
        x_labeled: torch.Tensor,
        y_labeled: torch.Tensor,
        config: TrainConfig,
    ) -> StepLoss:
        raise NotImplementedError

    def raw_scores(
        self, model: nn.Module, images: torch.Tensor, device: torch.device | str
    ) -> dict[str, np.ndarray]:
        """Every score of ``images`` (higher = more anomalous), computed in eval mode so that
        batch-statistics layers (BatchNorm) use their running statistics: an image's score must
        not depend on the other images of its batch."""
        raise NotImplementedError

    def optimizer_options(self, config: TrainConfig) -> dict:
        """Keyword arguments of :meth:`make_optimizer`'s Adam (default: the run's lr and
        weight_decay)."""
        return {"lr": config.lr, "weight_decay": config.weight_decay}

    def parameter_groups(self, model: nn.Module, config: TrainConfig) -> list[dict]:
        """Adam's parameter groups (default: one, every trainable parameter at the run's options);
        a group may set its own ``lr``."""
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]

    def make_optimizer(
        self, model: nn.Module, config: TrainConfig, total_steps: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        """The optimiser and its schedule (stepped once per optimiser step): Adam over
        :meth:`parameter_groups` with :meth:`optimizer_options`, cosine-annealed to 0 over the run."""
        optimizer = torch.optim.Adam(self.parameter_groups(model, config), **self.optimizer_options(config))
        return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))

    def map_scale(self, model: nn.Module, normal: torch.Tensor, device: torch.device | str) -> dict | None:
        return None

    def log_odds(self, scores: dict[str, np.ndarray]) -> np.ndarray | None:
        """log p(anomaly | x) − log p(normal | x) from this method's ``scores``, for methods with a
        class probability (``predict_proba``); None for the others (default)."""
        return None

    def anomaly_maps(
        self, model: nn.Module, images: torch.Tensor, device: torch.device | str
    ) -> dict[str, torch.Tensor]:
        """Pixel-level maps (B, H, W) by name; only for methods with ``has_maps``."""
        raise NotImplementedError(f"method {self.name!r} gives no pixel-level anomaly maps")

    def leaves_parameters_unused(self, model: nn.Module, has_labels: bool) -> bool:
        """Whether some trainable parameter may get no gradient from ``loss`` (DDP must then look
        for unused parameters every step)."""
        return False


# --- the registry ------------------------------------------------------------------------------

# Modules whose import registers the built-in methods (and priors); imported on the registry's
# first use, so that this module imports none of them.
BUILTIN_MODULES = ("flowgmm_ae.aeflow_method", "flowgmm_ae.baselines")
# Entry-point group of installed plug-ins: each entry names a module (or an object in it) whose
# import registers methods or priors, e.g. in a plug-in's pyproject.toml
#   [project.entry-points."flowgmm_ae.methods"]
#   mymethod = "my_package.my_method"
PLUGIN_GROUP = "flowgmm_ae.methods"
log = logging.getLogger(__name__)
_METHODS: dict[str, type[Method]] = {}
_builtins_loaded = False

M = TypeVar("M", bound=type[Method])


# Loss terms that only the mixture prior (method='aeflow', prior='gmm') defines.
MIXTURE_TERMS = ("class_weight", "consistency_weight")


def refuse_mixture_terms(config: TrainConfig) -> None:
    """Raise ConfigError for a mixture-only loss term switched on where there is no mixture."""
    for name in MIXTURE_TERMS:
        if getattr(config, name) > 0:
            raise ConfigError(f"{name} > 0 needs the mixture prior: method='aeflow', prior='gmm'", name)


def register_method(cls: M) -> M:
    """Class decorator: make ``cls`` available as ``--method cls.name`` everywhere."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a class attribute 'name' to be registered")
    if not cls.score_names or cls.default_score not in cls.score_names:
        raise ValueError(f"{cls.__name__}: default_score must be one of its score_names")
    registered = _METHODS.get(cls.name)
    if registered is not None and registered.__qualname__ != cls.__qualname__:
        raise ValueError(f"a method named {cls.name!r} is already registered ({registered.__qualname__})")
    _METHODS[cls.name] = cls
    return cls


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _load_plugins()


def _load_plugins() -> None:
    """Import every entry point of :data:`PLUGIN_GROUP`. A plug-in that fails to import is
    reported and skipped: one broken installed package must not take the built-in methods down."""
    for entry_point in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        try:
            entry_point.load()
        except Exception as error:  # whatever a third-party import raises
            log.warning(
                f"flowgmm-ae plug-in {entry_point.name!r} ({entry_point.value}) failed to load: {error}"
            )


def method_names() -> tuple[str, ...]:
    """Every registered method, the prior-based one(s) first."""
    _load_builtins()
    return tuple(sorted(_METHODS, key=lambda name: (not _METHODS[name].uses_priors, name)))


def baseline_names() -> tuple[str, ...]:
    """The registered methods without a latent prior (``ablate --baselines``)."""
    return tuple(name for name in method_names() if not _METHODS[name].uses_priors)


def prior_method_name() -> str:
    """The registered method whose variants are the latent priors (AE-FLOW)."""
    names = [name for name in method_names() if _METHODS[name].uses_priors]
    if not names:
        raise ValueError("no registered method takes a latent prior")
    return names[0]


def score_names() -> tuple[str, ...]:
    """Every score name any registered method gives."""
    return tuple(dict.fromkeys(s for name in method_names() for s in _METHODS[name].score_names))


def get_method(name: str) -> Method:
    """A fresh instance of the method registered as ``name``."""
    _load_builtins()
    if name not in _METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(method_names())}")
    return _METHODS[name]()
