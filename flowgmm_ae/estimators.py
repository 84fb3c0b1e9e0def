"""The Python API: one estimator per method, with the contract of PyOD and scikit-learn.

    from flowgmm_ae import FlowGMMAE
    det = FlowGMMAE(epochs=10).fit(x, y)      # images (N, H, W) or (N, C, H, W); y: 1 = known anomaly
    scores = det.decision_function(x_test)    # higher = more anomalous
    labels = det.predict(x_test)              # 1 = anomaly, at det.threshold_
    det.save("detector"); det = Detector.load("detector")   # safetensors + JSON, no pickle

``fit`` also takes an :class:`~flowgmm_ae.data.ImageDataset` (``flowgmm_ae.data.load_dataset``):
then the package's protocol chooses the labeled anomalies (``labeled_frac``) and the validation
labels, exactly as ``flowgmm-ae train`` does, which is built on this class.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from flowgmm_ae import distributed
from flowgmm_ae.config import TrainConfig
from flowgmm_ae.data import ImageDataset, Split
from flowgmm_ae.errors import resolve_device
from flowgmm_ae.evaluation import split_scores, validation_scores
from flowgmm_ae.io import load_weights, read_json, save_weights, write_json
from flowgmm_ae.loop import FitResult, TrainingData, fit
from flowgmm_ae.methods import Method, get_method
from flowgmm_ae.metrics import choose_threshold, fit_temperature, sigmoid
from flowgmm_ae.protocol import apply_protocol
from flowgmm_ae.runs import RunFolderError, built_config, read_config, train_config_from_record
from flowgmm_ae.scoring import ScoreCombiner

DETECTOR_FILE = "detector.json"
WEIGHTS_FILE = "model.safetensors"
ArrayLike = Any  # numpy array or torch tensor


def as_images(images: ArrayLike, name: str, image_size: int | None = None) -> torch.Tensor:
    """``images`` as float32 (N, C, H, W) in [0, 1]: from uint8 (0–255) or float ([0, 1]) arrays
    or tensors shaped (N, H, W) or (N, C, H, W). Errors name the argument ``name``."""
    if isinstance(images, np.ndarray):
        array = np.ascontiguousarray(images)
        if any(stride < 0 for stride in array.strides):  # a flipped view numpy calls contiguous
            array = array.copy()
        try:
            tensor = torch.from_numpy(array)
        except TypeError:  # numpy dtypes torch has no counterpart for (object, str, uint32 ...)
            raise TypeError(f"{name} must be uint8 (0-255) or float (0-1), got {images.dtype}") from None
    elif isinstance(images, torch.Tensor):
        tensor = images.detach().cpu()
    else:
        raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(images).__name__}")
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    if tensor.ndim != 4 or tensor.shape[1] not in (1, 3):
        raise ValueError(
            f"{name} must be shaped (N, H, W) or (N, C, H, W) with C = 1 or 3, got {tuple(images.shape)}"
        )
    if len(tensor) == 0:
        raise ValueError(f"{name} holds no images")
    if tensor.shape[2] != tensor.shape[3]:
        raise ValueError(f"{name} must be square images, got {tensor.shape[2]} x {tensor.shape[3]}")
    if image_size is not None and tensor.shape[-1] != image_size:
        raise ValueError(
            f"{name} are {tensor.shape[-1]} px but the detector works at image_size={image_size}; "
            "resize them (or fit with image_size set to their size)"
        )
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255.0)
    if not tensor.is_floating_point():
        raise TypeError(f"{name} must be uint8 (0-255) or float (0-1), got {tensor.dtype}")
    tensor = tensor.float()
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    low, high = float(tensor.min()), float(tensor.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(f"{name} must lie in [0, 1] as floats (or be uint8), found [{low:g}, {high:g}]")
    return tensor.contiguous()


def _as_validation(validation: Any, image_size: int) -> Split:
    if isinstance(validation, Split):
        images = as_images(validation.images[:], "validation images", image_size)
        return dataclasses.replace(validation, images=images)
    if not (isinstance(validation, tuple | list) and len(validation) == 2):
        raise TypeError("validation must be (images, labels) with labels 0 normal / 1 anomaly, or a Split")
    images = as_images(validation[0], "validation images", image_size)
    labels = np.asarray(validation[1]).reshape(-1)
    if len(labels) != len(images):
        raise ValueError(f"validation has {len(images)} images but {len(labels)} labels")
    if not set(np.unique(labels).tolist()) <= {0, 1}:
        raise ValueError("validation labels must be 0 (normal) or 1 (anomaly)")
    if not (labels == 0).any():
        raise ValueError("validation needs normal images (label 0): thresholds are chosen on them")
    return Split(images, labels.astype(np.int64))


class Detector:
    """An anomaly detector of one registered method, with the contract of PyOD's detectors and
    scikit-learn's parameter protocol.

    Parameters are :class:`TrainConfig`'s fields (``method`` too, unless a subclass fixes it), as
    keyword arguments stored unchanged (``get_params`` / ``set_params``, so ``sklearn.base.clone``
    works) and checked at :meth:`fit`. Two defaults differ from the command line's: ``image_size``
    is None (the images' own size) and ``progress`` is False (silent; True shows a progress bar on a
    terminal). Messages go to the ``flowgmm_ae`` logger only.

    Fitted attributes: ``decision_scores_`` and ``labels_`` (the training images' scores and 0/1
    predictions, in the order given to :meth:`fit`), ``threshold_`` (chosen on validation by
    ``threshold_policy_``), ``config_`` (the :class:`TrainConfig` trained with), ``model_`` (the
    torch module, eval mode), ``score_`` (the score used), ``combiner_`` (the combined score's
    standardisation, AE-FLOW only), ``temperature_`` (scales the class probability of
    :meth:`predict_proba`), ``map_scale_`` and ``history_`` (one row per epoch)."""

    method: ClassVar[str | None] = None  # subclasses fix their method

    def __init__(self, **params: Any) -> None:
        if self.method is not None and params.pop("method", self.method) != self.method:
            raise ValueError(f"{type(self).__name__} is method={self.method!r}; use Detector for others")
        defaults = self._param_defaults()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(f"unknown parameter(s) {', '.join(unknown)}; parameters are TrainConfig's fields")
        for name, default in defaults.items():
            setattr(self, name, params.get(name, default))

    @classmethod
    def _param_defaults(cls) -> dict[str, Any]:
        """Every parameter of this class and its default."""
        defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
        defaults.update(image_size=None, progress=False)
        if cls.method is not None:
            del defaults["method"]
        return defaults

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every parameter by name (scikit-learn's protocol; there are no nested estimators)."""
        return {name: getattr(self, name) for name in self._param_defaults()}

    def set_params(self, **params: Any) -> Detector:
        """Change parameters (checked at the next :meth:`fit`); returns the detector."""
        known = self._param_defaults()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"unknown parameter(s) {', '.join(unknown)} for {type(self).__name__}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    @classmethod
    def from_config(cls, config: TrainConfig) -> Detector:
        """The detector of ``config.method`` with every option of ``config``."""
        return _class_for(config.method, Detector)(**dataclasses.asdict(config))

    @property
    def method_(self) -> Method:
        """The registered method the detector is (being) fitted with."""
        if not hasattr(self, "config_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit() or load()")
        return get_method(self.config_.method)

    # --- fitting --------------------------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike | ImageDataset,
        y: ArrayLike | None = None,
        *,
        validation: tuple[ArrayLike, ArrayLike] | Split | None = None,
    ) -> Detector:
        """Train on images ``X`` where ``y`` marks the known anomalies (1) and the unlabeled images
        (0; None: all unlabeled), as PyOD's semi-supervised detectors take them.

        Unlabeled images are assumed normal (a pool with a fraction ε of anomalies in it sets
        ``assumed_contamination=ε`` and is trimmed, see ``pool``). Thresholds and the combined
        score's scale come from ``validation`` ((images, labels) with 0 normal / 1 anomaly).
        Without it a seeded ``val_frac`` of the unlabeled images is held out as normal validation
        images (arrays carry no patient ids: pass ``validation`` to keep patients apart). Given an
        :class:`~flowgmm_ae.data.ImageDataset` (and no ``y``), the package's protocol cuts it."""
        if isinstance(X, ImageDataset):
            if y is not None or validation is not None:
                raise TypeError("with a data set, labels and validation come from it: pass it alone")
            self.config_ = self._make_config(X.image_size)
            data = apply_protocol(X, self.config_).data
            self.fit_data(data)
            training = torch.cat([data.unlabeled, data.labeled]).numpy()
            self._score_training_images(data.images[training])
            return self
        images = as_images(X, "X", self.image_size)
        known_anomaly = _as_known_anomalies(y, len(images))
        self.config_ = self._make_config(int(images.shape[-1]))
        self.fit_data(self._training_data(images[~known_anomaly], images[known_anomaly], validation))
        self._score_training_images(images)
        return self

    def fit_with_anomalies(
        self,
        unlabeled: ArrayLike,
        anomalies: ArrayLike | None = None,
        *,
        validation: tuple[ArrayLike, ArrayLike] | Split | None = None,
    ) -> Detector:
        """:meth:`fit` on the ``unlabeled`` images (assumed normal) and a few known ``anomalies``:
        ``X`` is both, one after the other, and ``decision_scores_`` follows that order."""
        x_unlabeled = as_images(unlabeled, "unlabeled", self.image_size)
        if anomalies is None or len(anomalies) == 0:
            return self.fit(x_unlabeled, validation=validation)
        x_anomalies = as_images(anomalies, "anomalies", self.image_size)
        if x_anomalies.shape[1:] != x_unlabeled.shape[1:]:
            raise ValueError(
                f"anomalies are shaped {tuple(x_anomalies.shape[1:])} but unlabeled "
                f"{tuple(x_unlabeled.shape[1:])}: both need the same channels and size"
            )
        y = np.r_[np.zeros(len(x_unlabeled), np.int64), np.ones(len(x_anomalies), np.int64)]
        return self.fit(torch.cat([x_unlabeled, x_anomalies]), y, validation=validation)

    def _make_config(self, image_size: int) -> TrainConfig:
        """The run's TrainConfig from the parameters, ``image_size`` from the data unless given."""
        params = self.get_params()
        if params["image_size"] is None:
            params["image_size"] = image_size
        elif params["image_size"] != image_size:
            raise ValueError(
                f"the images are {image_size} px but the detector was made with image_size="
                f"{params['image_size']}; resize them (or leave image_size at None)"
            )
        fixed = type(self).method  # a subclass's method (the generic Detector has it as a parameter)
        config = TrainConfig(**({"method": fixed, **params} if fixed else params))
        config.validate()
        return config

    def _training_data(self, x_u: torch.Tensor, x_l: torch.Tensor, validation: Any) -> TrainingData:
        config, size = self.config_, self.config_.image_size
        if config.uses_labels() and len(x_l) == 0:
            raise ValueError(
                f"y marks no known anomaly (no 1), but method={config.method!r} with prior="
                f"{config.prior!r} learns from labeled anomalies; mark some, or use an "
                "unsupervised detector (e.g. FlowGMMAE(prior='gaussian'))"
            )
        if len(x_u) == 0:
            raise ValueError("y marks every image as a known anomaly: the unlabeled images are missing")
        if validation is None:
            order = np.random.default_rng([config.seed, 2]).permutation(len(x_u))
            n_val = max(1, int(round(config.val_frac * len(x_u))))
            if len(x_u) - n_val < 2:
                raise ValueError(
                    f"X holds {len(x_u)} unlabeled images: too few to hold out validation images"
                )
            val = Split(x_u[order[:n_val]], np.zeros(n_val, dtype=np.int64))
            x_u = x_u[np.sort(order[n_val:])]
        else:
            val = _as_validation(validation, size)
        if val.images.shape[1] != x_u.shape[1]:
            raise ValueError("validation images and X must have the same number of channels")
        images = torch.cat([x_u, x_l])
        positions = torch.arange(len(images))
        return TrainingData(images, positions[: len(x_u)], positions[len(x_u) :], val)

    def fit_data(
        self,
        data: TrainingData,
        device: torch.device | None = None,
        ctx: distributed.DistContext = distributed.SINGLE,
        run_dir: Path | None = None,
        resume: bool = False,
    ) -> FitResult:
        """The low-level fit the command line uses: train on ``data`` (with checkpoints in
        ``run_dir``), then choose the threshold and score scales on ``data.val``. Sets every fitted
        attribute but ``decision_scores_`` and ``labels_``."""
        config = self._make_config(int(data.images.shape[-1]))
        self.config_ = dataclasses.replace(config, score=config.resolved_score())
        device = device if device is not None else resolve_device(self.config_.device)
        result = fit(self.method_, self.config_, data, device, ctx, run_dir, resume)
        self.model_ = result.model
        self.history_ = result.history
        self.in_channels_ = data.in_channels
        self._calibrate(data.val, device, ctx)
        self.model_.eval()
        return result

    def _calibrate(self, val: Split, device: torch.device, ctx: distributed.DistContext) -> None:
        """Threshold, combined-score standardisation and map colour scale, from validation."""
        assert self.model_ is not None
        config = self.config_
        scores, self.combiner_ = validation_scores(
            self.method_, self.model_, val, config.resolved_beta(), device, ctx
        )
        self.threshold_, self.threshold_policy_ = choose_threshold(
            val.labels, scores[config.score], config.threshold_policy, config.normal_quantile
        )
        self.score_ = config.score
        log_odds = self.method_.log_odds(scores)
        # Temperature scaling of the class probability on the validation labels (NaN without
        # validation anomalies): flowgmm-ae's raw log-odds are about 15 times too confident
        # (benchmarks/results/calibration_pneumoniamnist.md).
        self.temperature_ = fit_temperature(val.labels, log_odds) if log_odds is not None else None
        normal = val.images[val.labels == 0]
        self.map_scale_ = self.method_.map_scale(self.model_, normal, device)

    def _score_training_images(self, images: torch.Tensor) -> None:
        self.decision_scores_ = self.decision_function(images)
        self.labels_ = (self.decision_scores_ >= self.threshold_).astype(np.int64)

    # --- scoring --------------------------------------------------------------------------------

    def _fitted_config(self) -> TrainConfig:
        if getattr(self, "model_", None) is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit() or load()")
        return self.config_

    def scores(self, images: ArrayLike) -> dict[str, np.ndarray]:
        """Every score the method gives for ``images`` (higher = more anomalous)."""
        config = self._fitted_config()
        x = as_images(images, "images", config.image_size)
        if x.shape[1] != self.in_channels_:
            raise ValueError(f"images have {x.shape[1]} channels, the detector {self.in_channels_}")
        device = next(self.model_.parameters()).device
        return split_scores(self.method_, self.model_, x, self.combiner_, device)

    def decision_function(self, images: ArrayLike, score: str | None = None) -> np.ndarray:
        """One anomaly score per image, higher = more anomalous (PyOD's sign); ``score`` names
        another of :meth:`scores` than ``score_``."""
        scores = self.scores(images)
        name = score or self.score_
        if name not in scores:
            raise ValueError(f"score={name!r} is not available; this detector gives {', '.join(scores)}")
        return scores[name]

    def score_samples(self, images: ArrayLike) -> np.ndarray:
        """scikit-learn's sign: higher = more normal, the negated :meth:`decision_function`."""
        return -self.decision_function(images)

    def predict(self, images: ArrayLike) -> np.ndarray:
        """1 (anomaly) where the score reaches ``threshold_``, else 0."""
        return (self.decision_function(images) >= self.threshold_).astype(np.int64)

    def predict_proba(self, images: ArrayLike) -> np.ndarray:
        """(N, 2) probabilities of normal and anomaly: the method's class probability with its
        log-odds divided by ``temperature_`` (fitted on the validation labels, so that they are
        calibrated there). Methods without a class probability (density, distance or
        reconstruction scores) raise NotImplementedError."""
        log_odds = self.method_.log_odds(self.scores(images))
        if log_odds is None:
            raise NotImplementedError(f"method {self.config_.method!r} gives no class probability")
        if self.temperature_ is None or not np.isfinite(self.temperature_):
            raise ValueError(
                "no temperature was fitted: the validation images held no anomalies (or the run "
                "folder predates predict_proba); fit with validation anomalies"
            )
        anomaly = sigmoid(log_odds / self.temperature_)
        return np.stack([1 - anomaly, anomaly], axis=1)

    def anomaly_maps(self, images: ArrayLike) -> dict[str, np.ndarray]:
        """Pixel-level maps (N, H, W) by name (AE-FLOW: ``flow`` and ``residual``) and the
        reconstruction ``x_hat`` (N, C, H, W); colour ranges in ``map_scale_``."""
        config = self._fitted_config()
        if not self.method_.has_maps:
            raise NotImplementedError(f"method {config.method!r} gives no pixel-level anomaly maps")
        x = as_images(images, "images", config.image_size)
        maps = self.method_.anomaly_maps(self.model_, x, next(self.model_.parameters()).device)
        return {name: value.numpy() for name, value in maps.items()}

    # --- saving ---------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What besides the weights a fitted detector needs to score (the JSON of :meth:`save`)."""
        config = self._fitted_config()
        # The latent as built: its defaults depend on the channels and may change between releases.
        config = dataclasses.replace(
            config,
            stride=config.resolved_stride(self.in_channels_),
            latent_channels=config.resolved_latent_channels(),
        )
        return {
            "config": dataclasses.asdict(config),
            "in_channels": self.in_channels_,
            "score": self.score_,
            "threshold": float(self.threshold_),
            "threshold_policy": self.threshold_policy_,
            "combiner": dataclasses.asdict(self.combiner_) if self.combiner_ is not None else None,
            "map_scale": self.map_scale_,
            "temperature": self.temperature_
            if self.temperature_ and np.isfinite(self.temperature_)
            else None,
        }

    def save(self, path: str | Path) -> Path:
        """Write the detector into folder ``path``: model.safetensors and detector.json."""
        self._fitted_config()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_weights(self.model_, path / WEIGHTS_FILE)
        write_json(path / DETECTOR_FILE, self.state())
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Detector:
        """A detector saved by :meth:`save`, or any finished ``flowgmm-ae train`` run folder (older
        ones without detector.json too), as the class of its method. Reads safetensors and JSON
        only: loading runs no code. ``decision_scores_`` and ``labels_`` are not saved."""
        path = Path(path)
        state = _saved_state(path)
        config = TrainConfig(**state["config"])
        detector = _class_for(config.method, cls).from_config(config)
        detector.config_ = config
        detector.in_channels_ = state["in_channels"]
        model = get_method(config.method).build(config, detector.in_channels_)
        try:
            load_weights(model, path / WEIGHTS_FILE)
        except Exception as error:  # safetensors raises its own error types for corrupt files
            raise RunFolderError(f"could not load {path / WEIGHTS_FILE}: {error}") from error
        detector.model_ = model.to(resolve_device(device), memory_format=torch.channels_last).eval()
        detector.score_ = state["score"]
        detector.threshold_ = state["threshold"]
        detector.threshold_policy_ = state["threshold_policy"]
        detector.combiner_ = ScoreCombiner(**state["combiner"]) if state["combiner"] else None
        detector.map_scale_ = state["map_scale"]
        detector.temperature_ = state.get("temperature")  # older run folders: predict_proba unavailable
        detector.history_ = []
        return detector

    def __repr__(self) -> str:
        defaults = self._param_defaults()
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"{type(self).__name__}({shown})"


def _as_known_anomalies(y: ArrayLike | None, n_images: int) -> np.ndarray:
    """``y`` (1 = known anomaly, 0 = unlabeled; None: all unlabeled) as a boolean mask."""
    if y is None:
        return np.zeros(n_images, dtype=bool)
    labels = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if labels.ndim > 2 or (labels.ndim == 2 and labels.shape[1] != 1):
        raise TypeError(
            "y must hold one label per image (1 = known anomaly, 0 = unlabeled), not images; to "
            "pass unlabeled images and labeled anomalies separately use fit_with_anomalies"
        )
    labels = labels.reshape(-1)
    if len(labels) != n_images:
        raise ValueError(f"X holds {n_images} images but y {len(labels)} labels")
    if not set(np.unique(labels).tolist()) <= {0, 1}:
        raise ValueError("y must be 1 (known anomaly) or 0 (unlabeled) for each image")
    return labels == 1


def _saved_state(path: Path) -> dict[str, Any]:
    """detector.json, or the same state rebuilt from an older run folder's config.json and
    metrics.json."""
    if (path / DETECTOR_FILE).is_file():
        state = read_json(path / DETECTOR_FILE)
        config = train_config_from_record(state["config"])
        if config.stride is None:  # saved before the stride was recorded: grey images' default
            config = dataclasses.replace(config, stride=config.resolved_stride(in_channels=1))
        state["config"] = dataclasses.asdict(config)
        return state
    if not (path / "metrics.json").is_file():
        raise RunFolderError(
            f"{path} is neither a saved detector ({DETECTOR_FILE}) nor a finished run folder"
        )
    record, metrics = read_config(path), read_json(path / "metrics.json")
    score = metrics["score"]
    return {
        "config": dataclasses.asdict(built_config(record)),
        "in_channels": record["model"]["in_channels"],
        "score": score,
        "threshold": metrics["scores"][score]["val"]["threshold"],
        "threshold_policy": metrics["scores"][score]["val"]["threshold_policy"],
        "combiner": metrics.get("combiner"),
        "map_scale": metrics.get("map_scale"),
    }


def _class_for(method: str, requested: type[Detector]) -> type[Detector]:
    """The estimator class of ``method``: a subclass that fixes it, else the generic Detector."""
    get_method(method)  # an unknown name fails here; the built-in estimators are imported with it
    candidates = [c for c in _all_subclasses(Detector) if c.method == method]
    if requested is not Detector and requested.method != method:
        raise ValueError(f"the saved detector is method={method!r}, not a {requested.__name__}")
    return requested if requested is not Detector else (candidates[0] if candidates else Detector)


def _all_subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_all_subclasses(direct))]


class FlowGMMAE(Detector):
    """AE-FLOW with the class-conditional mixture prior (``prior="gmm"``, the default): trained on
    unlabeled normal images plus a few labeled anomalies. ``prior="gaussian"`` is unsupervised
    AE-FLOW (then ``y`` may mark no anomaly).

        det = FlowGMMAE(epochs=10).fit(x, y)   # y: 1 = known anomaly, 0 = unlabeled
        det.decision_function(x_test)          # higher = more anomalous
    """

    method = "aeflow"
