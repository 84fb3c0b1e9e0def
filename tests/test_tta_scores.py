"""benchmarks/tta_scores.py: the views it averages over are the ones it names."""

import numpy as np
import pytest
import torch
from benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("tta_scores")


def test_a_whole_pixel_shift_moves_the_image_and_repeats_the_edge(bench):
    images = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6)
    right = bench.shifted(2, 0)(images)
    assert torch.allclose(right[..., 2:], images[..., :-2], atol=1e-5)
    assert torch.allclose(right[..., :2], images[..., :1].expand(-1, -1, -1, 2), atol=1e-5)
    down = bench.shifted(0, 1)(images)
    assert torch.allclose(down[..., 1:, :], images[..., :-1, :], atol=1e-5)


def test_the_dihedral_views_are_the_eight_distinct_symmetries(bench):
    image = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    views = {tuple(view(image).flatten().tolist()) for view in bench.VIEW_SETS["dihedral"]}
    assert len(views) == 8
    assert tuple(image.flatten().tolist()) in views


class _Scorer:
    """Stands in for a method: the score of an image is its top-left pixel."""

    def raw_scores(self, model, images, device):
        return {"flow": images[:, 0, 0, 0].numpy().astype(np.float64)}


def test_view_scores_average_each_score_over_the_views(bench):
    images = torch.rand(3, 1, 4, 4)
    views = [bench.IDENTITY, bench.symmetry(2, False)]  # the image and its half turn
    scores = bench.view_scores(_Scorer(), None, images, views)
    expected = (images[:, 0, 0, 0] + images[:, 0, 3, 3]).numpy() / 2
    np.testing.assert_allclose(scores["flow"], expected, rtol=1e-6)
