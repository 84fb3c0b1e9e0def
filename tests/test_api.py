"""The Python API: estimators fit on arrays, score, predict, map, save and load, and refuse bad
input with a message that names the argument."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tiny import TINY

from flowgmm_ae import Detector, FlowGMMAE, TrainConfig
from flowgmm_ae.baselines import CNN
from flowgmm_ae.data import load_dataset
from flowgmm_ae.data.splits import subset_split
from flowgmm_ae.evaluation import evaluate_model
from flowgmm_ae.training import train

MODEL = {k: v for k, v in TINY.items() if k not in ("dataset", "progress")}


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic", image_size=16, seed=0)


@pytest.fixture(scope="module")
def arrays(synthetic):
    train_split = synthetic.train
    normal = train_split.images[train_split.labels == 0].numpy()
    anomalous = train_split.images[train_split.labels == 1].numpy()[:20]
    return normal, anomalous, synthetic.test.images.numpy(), synthetic.test.labels


@pytest.fixture(scope="module")
def fitted(arrays, synthetic):
    normal, anomalous, _, _ = arrays
    validation = (synthetic.val.images.numpy(), synthetic.val.labels)
    return FlowGMMAE(**MODEL).fit_with_anomalies(normal, anomalous, validation=validation)


def test_fits_small_arrays_and_scores_every_image(fitted, arrays):
    _, _, x_test, y_test = arrays
    scores = fitted.decision_function(x_test)
    assert scores.shape == (len(x_test),) and np.isfinite(scores).all()
    assert fitted.score_ == "fused"  # posterior + flow + recon once anomalies are labeled
    np.testing.assert_array_equal(fitted.score_samples(x_test), -scores)  # scikit-learn: higher = normal
    predictions = fitted.predict(x_test)
    assert set(np.unique(predictions)) <= {0, 1}
    np.testing.assert_array_equal(predictions, (scores >= fitted.threshold_).astype(int))
    assert len(fitted.history_) == MODEL["epochs"]


def test_predict_proba_is_the_temperature_scaled_posterior(fitted, arrays):
    x_test = arrays[2][:16]
    probabilities = fitted.predict_proba(x_test)
    assert probabilities.shape == (16, 2)
    np.testing.assert_allclose(probabilities.sum(1), 1.0)
    log_odds = fitted.decision_function(x_test, "posterior")
    expected = 1 / (1 + np.exp(-log_odds / fitted.temperature_))
    np.testing.assert_allclose(probabilities[:, 1], expected, rtol=1e-6)


def test_temperature_minimises_the_validation_log_loss():
    from flowgmm_ae.metrics import fit_temperature, log_loss, sigmoid

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    log_odds = 10 * (2 * labels - 1) + rng.normal(0, 8, 400)  # right direction, far too confident
    t = fit_temperature(labels, log_odds)
    assert t > 2
    for other in (t / 1.5, t * 1.5):
        assert log_loss(labels, sigmoid(log_odds / t)) < log_loss(labels, sigmoid(log_odds / other))
    assert np.isnan(fit_temperature(np.zeros(5), np.ones(5)))


def test_uint8_and_float_images_and_both_layouts_score_alike(fitted, arrays):
    x_test = arrays[2][:8]
    as_uint8 = np.round(x_test * 255).astype(np.uint8)
    from_uint8 = fitted.decision_function(as_uint8[:, 0])  # (N, H, W)
    from_float = fitted.decision_function(torch.from_numpy(as_uint8).float() / 255)
    np.testing.assert_allclose(from_uint8, from_float, rtol=1e-6)


def test_anomaly_maps_have_the_image_shape(fitted, arrays):
    x_test = arrays[2][:4]
    maps = fitted.anomaly_maps(x_test)
    assert maps["flow"].shape == (4, 16, 16) and maps["residual"].shape == (4, 16, 16)
    assert set(fitted.map_scale_) == {"flow", "residual"}


def test_save_and_load_give_identical_scores(fitted, arrays, tmp_path):
    x_test = arrays[2]
    fitted.save(tmp_path / "det")
    assert sorted(p.name for p in (tmp_path / "det").iterdir()) == ["detector.json", "model.safetensors"]
    loaded = Detector.load(tmp_path / "det")
    assert type(loaded) is FlowGMMAE and loaded.threshold_ == fitted.threshold_
    np.testing.assert_array_equal(loaded.decision_function(x_test), fitted.decision_function(x_test))
    np.testing.assert_array_equal(loaded.predict(x_test), fitted.predict(x_test))
    np.testing.assert_array_equal(
        loaded.decision_function(x_test, "fused"), fitted.decision_function(x_test, "fused")
    )


def test_colour_images_get_the_wider_default_latent_and_every_saved_stride_reloads(tmp_path):
    rng = np.random.default_rng(0)
    normal = rng.random((40, 3, 16, 16), dtype=np.float32) * 0.5
    anomalous = rng.random((8, 3, 16, 16), dtype=np.float32) * 0.5 + 0.5
    x_test = rng.random((6, 3, 16, 16), dtype=np.float32)
    defaults = {**MODEL, "stride": None, "latent_channels": None}
    colour = FlowGMMAE(**defaults).fit_with_anomalies(normal, anomalous)
    assert colour.model_.config.stride == 2  # an 8 x 8 latent at 16 px; grey images get 4 x 4
    colour.save(tmp_path / "colour")
    saved = json.loads((tmp_path / "colour" / "detector.json").read_text())
    assert saved["config"]["stride"] == 2  # recorded as built, not as "the default"
    assert saved["config"]["latent_channels"] == colour.model_.config.latent_channels == 64
    loaded = Detector.load(tmp_path / "colour")
    np.testing.assert_array_equal(loaded.decision_function(x_test), colour.decision_function(x_test))
    # A detector saved before the stride was recorded was built with the grey images' default.
    older = FlowGMMAE(**{**MODEL, "stride": 4}).fit_with_anomalies(normal, anomalous)
    older.save(tmp_path / "older")
    state = json.loads((tmp_path / "older" / "detector.json").read_text())
    state["config"]["stride"] = None
    (tmp_path / "older" / "detector.json").write_text(json.dumps(state))
    loaded = Detector.load(tmp_path / "older")
    assert loaded.model_.config.stride == 4
    np.testing.assert_array_equal(loaded.decision_function(x_test), older.decision_function(x_test))


def test_the_fused_score_is_the_sum_of_the_parts_standardised_on_validation_normals(fitted, synthetic):
    scores = fitted.scores(synthetic.test.images)
    val = fitted.scores(synthetic.val.images)
    normal = synthetic.val.labels == 0
    weights = {"posterior": 1.0, "flow": 0.5, "recon": 1.0}
    expected = sum(w * (scores[k] - val[k][normal].mean()) / val[k][normal].std() for k, w in weights.items())
    np.testing.assert_allclose(scores["fused"], expected, rtol=1e-6, atol=1e-6)


def test_a_baseline_estimator_fits_saves_and_loads_as_its_class(arrays, tmp_path):
    normal, anomalous, x_test, _ = arrays
    clf = CNN(epochs=1, min_steps=0).fit_with_anomalies(normal, anomalous)
    assert clf.score_ == "logit"
    clf.save(tmp_path / "cnn")
    loaded = Detector.load(tmp_path / "cnn")
    assert type(loaded) is CNN
    np.testing.assert_array_equal(loaded.decision_function(x_test), clf.decision_function(x_test))
    with pytest.raises(NotImplementedError, match="no pixel-level anomaly maps"):
        clf.anomaly_maps(x_test)
    # Validation carved from the unlabeled images holds no anomalies: no temperature to fit.
    with pytest.raises(ValueError, match="no temperature was fitted"):
        clf.predict_proba(x_test)


def test_a_finished_cli_run_folder_loads_as_a_detector(tmp_path, synthetic):
    # A run whose encoder learned from reconstruction alone: the setting reloads with the model.
    result = train(TrainConfig(out=str(tmp_path / "run"), encoder_objective="reconstruction", **TINY))
    detector = Detector.load(tmp_path / "run")
    assert detector.config_.encoder_objective == "reconstruction"
    assert detector.model_.config.encoder_objective == "reconstruction"
    test_scores = detector.decision_function(synthetic.test.images)
    np.testing.assert_allclose(
        np.sort(test_scores), np.sort(_column(tmp_path / "run" / "scores.csv", result.metrics["score"]))
    )


def _column(path, name):
    import csv

    with open(path, newline="") as handle:
        return np.array([float(row[name]) for row in csv.DictReader(handle)])


def test_cli_and_api_on_the_same_data_and_seed_give_identical_metrics(tmp_path, synthetic):
    """The CLI's run and the API given the same images (the run's own split, read back from its
    splits.json) train the same model: every test metric is identical."""
    options = dict(MODEL, seed=0, labeled_frac=0.1)  # the synthetic fixture is generated with seed 0
    train(TrainConfig(out=str(tmp_path / "run"), dataset="synthetic", progress=False, **options))
    cli_metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    splits = json.loads((tmp_path / "run" / "splits.json").read_text())
    images = synthetic.train.images
    validation = subset_split(synthetic.val, np.asarray(splits["validation"]))
    detector = FlowGMMAE(**options).fit_with_anomalies(
        images[np.asarray(splits["unlabeled"])],
        images[np.asarray(splits["labeled"])],
        validation=(validation.images, validation.labels),
    )
    reference = type(synthetic)(**{**synthetic.__dict__, "val": validation})
    api = evaluate_model(
        detector.method_, detector.model_, reference, score=detector.score_, device="cpu"
    ).metrics
    for key in ("score", "val", "test", "scores", "combiner", "map_scale"):
        assert api[key] == cli_metrics[key], key
    assert detector.threshold_ == cli_metrics["val"]["threshold"]


def test_a_data_set_object_is_cut_by_the_package_protocol(synthetic):
    detector = FlowGMMAE(**MODEL, labeled_frac=0.1).fit(synthetic)
    assert np.isfinite(detector.decision_function(synthetic.test.images[:5])).all()
    with pytest.raises(TypeError, match="pass it alone"):
        FlowGMMAE(**MODEL).fit(synthetic, synthetic.train.images[:3])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda d, x, y: d.fit(x[:, :, :, :8], y), ValueError, r"X must be square"),
        (lambda d, x, y: d.fit(np.zeros((4, 5, 16, 16))), ValueError, r"X must be shaped"),
        (lambda d, x, y: d.fit(x.tolist(), y), TypeError, r"X must be a numpy array"),
        (lambda d, x, y: d.fit(np.full_like(x, np.nan), y), ValueError, r"X holds NaN"),
        (lambda d, x, y: d.fit(x * 3, y), ValueError, r"X must lie in \[0, 1\]"),
        (lambda d, x, y: d.fit(x, y[:-1]), ValueError, r"X holds 40 images but y 39 labels"),
        (lambda d, x, y: d.fit(x, 2 * y), ValueError, r"y must be 1 \(known anomaly\) or 0"),
        (lambda d, x, y: d.fit(x, x[:2]), TypeError, r"not images; .* use fit_with_anomalies"),
        (lambda d, x, y: d.fit(x, np.ones(40)), ValueError, r"every image as a known anomaly"),
        (lambda d, x, y: d.fit_with_anomalies(x, x[:2] - 1), ValueError, r"anomalies must lie in \[0, 1\]"),
        (
            lambda d, x, y: d.fit(x),
            ValueError,
            r"y marks no known anomaly \(no 1\), but method='aeflow' with prior='gmm'",
        ),
        (lambda d, x, y: d.fit_with_anomalies(x, x[:0]), ValueError, r"y marks no known anomaly"),
        (lambda d, x, y: d.fit_with_anomalies(x[:0], x[:2]), ValueError, r"unlabeled holds no images"),
        (lambda d, x, y: d.fit_with_anomalies(x, x[:2, :, :8, :8]), ValueError, r"anomalies are 8 px"),
        (lambda d, x, y: d.fit(x, y, validation=(x, [0, 1])), ValueError, r"validation has 40 images but 2"),
        (lambda d, x, y: d.fit(x, y, validation=x), TypeError, r"validation must be \(images, labels\)"),
        (lambda d, x, y: d.decision_function(x), RuntimeError, r"not fitted yet"),
        (lambda d, x, y: d.fit(x.astype(np.int32), y), TypeError, r"must be uint8 \(0-255\) or float"),
        # Found by tests/test_fuzz.py: numpy dtypes torch cannot hold failed without naming X.
        (
            lambda d, x, y: d.fit(x.astype(object), y),
            TypeError,
            r"X must be uint8 \(0-255\) or float \(0-1\), got object",
        ),
    ],
)
def test_bad_input_gets_a_message_that_names_the_argument(call, error, message):
    x = np.random.default_rng(0).random((40, 1, 16, 16), dtype=np.float32)
    y = np.r_[np.zeros(38, np.int64), np.ones(2, np.int64)]
    with pytest.raises(error, match=message):
        call(FlowGMMAE(**MODEL), x, y)


def test_bad_options_name_the_option_not_a_command_line_flag():
    with pytest.raises(TypeError, match="unknown parameter"):
        FlowGMMAE(learning_rate=1e-3)
    with pytest.raises(ValueError, match="is method='aeflow'"):
        FlowGMMAE(method="cnn")
    detector = FlowGMMAE(lr=-1.0)  # scikit-learn's protocol: parameters are checked at fit
    x = np.random.default_rng(0).random((40, 16, 16), dtype=np.float32)
    with pytest.raises(ValueError, match=r"lr=-1.0 must be positive$"):
        detector.fit(x, np.r_[np.zeros(38), np.ones(2)])
    with pytest.raises(ValueError, match="unknown parameter"):
        detector.set_params(learning_rate=1.0)


def test_scoring_refuses_images_of_another_size(fitted):
    with pytest.raises(ValueError, match="images are 8 px but the detector works at image_size=16"):
        fitted.decision_function(np.zeros((2, 8, 8), dtype=np.float32))


def test_a_reversed_view_of_one_image_scores_like_a_copy(fitted):
    """Found by tests/test_fuzz.py: reversing along an axis of length one gives negative strides
    that numpy still calls contiguous, which torch refused."""
    image = np.random.default_rng(3).random((1, 16, 16), dtype=np.float32)
    reversed_view = image[::-1]
    assert reversed_view.strides[0] < 0
    np.testing.assert_array_equal(
        fitted.decision_function(reversed_view), fitted.decision_function(image.copy())
    )
