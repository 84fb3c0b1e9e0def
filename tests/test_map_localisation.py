"""benchmarks/map_localisation.py: the proxy lesion outline and the references it is measured against."""

import numpy as np
import pytest
from benchmark_scripts import load_benchmark
from sklearn.metrics import roc_auc_score


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("map_localisation")


def _disc(size: int, centre: tuple[float, float], radius: float) -> np.ndarray:
    rows, cols = np.indices((size, size))
    return np.hypot(rows - centre[0], cols - centre[1]) <= radius


def test_the_proxy_outlines_the_dark_central_lesion_and_not_a_dark_corner(bench):
    rng = np.random.default_rng(0)
    lesion = _disc(32, (16, 15), 7)
    corner = _disc(32, (2, 2), 3)
    grey = np.where(lesion | corner, 0.3, 0.8) + rng.normal(0, 0.02, (32, 32))
    image = np.stack([grey, grey * 0.9, grey * 0.8])
    mask = bench.proxy_lesion_mask(image)
    assert mask is not None
    assert not mask[corner].any()
    overlap = (mask & lesion).sum() / (mask | lesion).sum()
    assert overlap > 0.8


def test_a_proxy_covering_too_little_or_too_much_is_refused(bench):
    tiny = np.where(_disc(32, (16, 16), 1.5), 0.3, 0.8)
    huge = np.where(_disc(32, (16, 16), 30), 0.3, 0.8)
    huge[0, 0] = 0.8
    assert bench.proxy_lesion_mask(np.stack([tiny] * 3)) is None
    assert bench.proxy_lesion_mask(np.stack([huge] * 3)) is None


def test_the_image_mean_reference_keeps_the_image_order_and_ranks_centre_pixels_first(bench):
    rng = np.random.default_rng(1)
    flow = rng.random((4, 8, 8)) + np.arange(4)[:, None, None] * 10
    residual = rng.random((4, 8, 8))
    val = {"flow": rng.random((5, 8, 8)), "residual": rng.random((5, 8, 8))}
    maps = bench.derived_maps({"flow": flow, "residual": residual}, val)
    reference = maps["flow_mean"]
    # Within an image it orders pixels as the centre map does ...
    centre = bench.centre_map(8, 8).ravel()
    assert roc_auc_score(centre > np.median(centre), reference[2].ravel()) == pytest.approx(
        roc_auc_score(centre > np.median(centre), centre)
    )
    # ... and across images as their mean flow value does, whatever the pixel.
    assert reference[1].max() < reference[2].min()
    assert set(maps) == set(bench.MAP_NAMES)
