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


def test_n_labeled_and_added_contamination():
    split = make_split(LABELS, n_labeled=5, contamination=0.2, seed=1, contamination_mode="add")
    assert len(split.labeled) == 5
    hidden = split.hidden_anomalies
    assert len(hidden) == 25  # 25 / (100 + 25) = 0.2
    assert set(np.flatnonzero(LABELS == 0)) <= set(split.unlabeled)  # every normal image stays
    assert not set(hidden) & set(split.labeled)
    assert set(hidden) <= set(split.unlabeled)
    assert LABELS[split.unlabeled].mean() == pytest.approx(0.2)


def test_contamination_keeps_the_pool_size():
    clean = make_split(LABELS, labeled_frac=0.1, contamination=0.0, seed=2)
    dirty = make_split(LABELS, labeled_frac=0.1, contamination=0.1, seed=2)
    assert len(dirty.unlabeled) == len(clean.unlabeled) == 100
    assert len(dirty.hidden_anomalies) == 10 and LABELS[dirty.unlabeled].mean() == pytest.approx(0.1)
    np.testing.assert_array_equal(dirty.labeled, clean.labeled)  # the same labels: the runs pair
    assert set(dirty.unlabeled) - set(dirty.hidden_anomalies) < set(clean.unlabeled)
    added = make_split(LABELS, labeled_frac=0.1, contamination=0.1, seed=2, contamination_mode="add")
    np.testing.assert_array_equal(added.labeled, clean.labeled)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(labeled_frac=1.5), r"labeled_frac=1.5 must lie in \[0, 1\]"),
        (dict(n_labeled=41), "asked for 41"),
        (dict(labeled_frac=0.5, contamination=0.5), "contamination"),
        (dict(contamination=1.0), "contamination"),
        (dict(contamination=0.1, contamination_mode="grow"), "contamination_mode='grow'"),
    ],
)
def test_bad_requests_are_clear_errors(kwargs, message):
    with pytest.raises(DataError, match=message):
        make_split(LABELS, **kwargs)


def test_labels_requested_without_anomalies():
    with pytest.raises(DataError, match="no anomalous images"):
        make_split(np.zeros(10, dtype=int), labeled_frac=0.1)


def _subtyped_labels() -> tuple[np.ndarray, list[str]]:
    """40 normals, then 30 bacteria and 20 virus anomalies."""
    labels = np.array([0] * 40 + [1] * 50)
    subtypes = ["normal"] * 40 + ["bacteria"] * 30 + ["virus"] * 20
    return labels, subtypes


def test_labeled_subtypes_draw_labels_only_from_the_named_subtypes():
    labels, subtypes = _subtyped_labels()
    for seed in range(5):
        split = make_split(labels, 0.2, seed=seed, subtypes=subtypes, labeled_subtypes=["bacteria"])
        assert len(split.labeled) == 6  # 20 % of the 30 bacteria images, not of all 50 anomalies
        assert {subtypes[i] for i in split.labeled} == {"bacteria"}
        assert set(split.unlabeled) == set(range(40))  # no contamination: unseen virus stays out


def test_labeled_subtypes_with_contamination_hide_any_unlabeled_anomaly():
    labels, subtypes = _subtyped_labels()
    split = make_split(labels, 0.2, contamination=0.5, seed=0, subtypes=subtypes, labeled_subtypes=["virus"])
    assert {subtypes[i] for i in split.labeled} == {"virus"}
    # the pool keeps its 40 images: 20 normal, 20 hidden anomalies
    assert len(split.unlabeled) == 40 and len(split.hidden_anomalies) == 20
    assert not set(split.hidden_anomalies) & set(split.labeled)
    assert {subtypes[i] for i in split.hidden_anomalies} == {"bacteria", "virus"}


def test_labeled_subtypes_unknown_name_lists_the_subtypes_there_are():
    labels, subtypes = _subtyped_labels()
    with pytest.raises(DataError, match=r"unknown anomaly subtypes \['fungal'\]; .*\['bacteria', 'virus'\]"):
        make_split(labels, 0.1, subtypes=subtypes, labeled_subtypes=["bacteria", "fungal"])
    with pytest.raises(DataError, match="no anomaly subtypes"):
        make_split(labels, 0.1, subtypes=None, labeled_subtypes=["bacteria"])


def test_without_labeled_subtypes_the_draw_is_unchanged_by_known_subtypes():
    labels, subtypes = _subtyped_labels()
    plain = make_split(labels, 0.1, contamination=0.2, seed=3)
    with_names = make_split(labels, 0.1, contamination=0.2, seed=3, subtypes=subtypes)
    for part in ("labeled", "unlabeled", "hidden_anomalies"):
        np.testing.assert_array_equal(getattr(plain, part), getattr(with_names, part))
