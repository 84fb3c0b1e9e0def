import numpy as np
import pytest

from flowgmm_ae.data import DataError, make_split

LABELS = np.array([0] * 100 + [1] * 40)


def test_labeled_fraction_counts_and_disjointness():
    split = make_split(LABELS, labeled_frac=0.05, seed=0)
    assert len(split.labeled) == 2  # round(0.05 * 40)
    assert (LABELS[split.labeled] == 1).all()
    assert len(split.unlabeled) == 100 and (LABELS[split.unlabeled] == 0).all()
    assert len(split.hidden_anomalies) == 0


def test_at_least_one_label_for_a_positive_fraction():
    assert len(make_split(LABELS, labeled_frac=0.001).labeled) == 1
    assert len(make_split(LABELS, labeled_frac=0.0).labeled) == 0


def test_seeded_and_different_across_seeds():
    a = make_split(LABELS, labeled_frac=0.25, seed=3)
    b = make_split(LABELS, labeled_frac=0.25, seed=3)
    c = make_split(LABELS, labeled_frac=0.25, seed=4)
    np.testing.assert_array_equal(a.labeled, b.labeled)
    assert not np.array_equal(a.labeled, c.labeled)


def test_n_labeled_and_contamination():
    split = make_split(LABELS, n_labeled=5, contamination=0.2, seed=1)
    assert len(split.labeled) == 5
    hidden = split.hidden_anomalies
    assert len(hidden) == 25  # 25 / (100 + 25) = 0.2
    assert not set(hidden) & set(split.labeled)
    assert set(hidden) <= set(split.unlabeled)
    assert LABELS[split.unlabeled].mean() == pytest.approx(0.2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(labeled_frac=1.5), "labeled-frac"),
        (dict(n_labeled=41), "asked for 41"),
        (dict(labeled_frac=0.5, contamination=0.5), "contamination"),
        (dict(contamination=1.0), "contamination"),
    ],
)
def test_bad_requests_are_clear_errors(kwargs, message):
    with pytest.raises(DataError, match=message):
        make_split(LABELS, **kwargs)


def test_labels_requested_without_anomalies():
    with pytest.raises(DataError, match="no anomalous images"):
        make_split(np.zeros(10, dtype=int), labeled_frac=0.1)
