"""A contaminated unlabeled pool: the pool objective's options and the ablation's guard against
reusing cells trained with other options."""

import pytest
from tiny import TINY

from flowgmm_ae.ablation import run_ablation
from flowgmm_ae.errors import ConfigError, FlowgmmAEError
from flowgmm_ae.training import TrainConfig, train


def test_learned_weights_need_the_marginal_pool(tmp_path):
    with pytest.raises(ConfigError, match="needs pool='marginal'") as caught:
        train(TrainConfig(out=str(tmp_path / "a"), learn_weights=True, **TINY))
    assert caught.value.fields == ("learn_weights", "pool")
    with pytest.raises(ConfigError, match="pool='drop': choose from trim, normal, marginal"):
        train(TrainConfig(out=str(tmp_path / "b"), pool="drop", **TINY))


def test_pool_objective_changes_training_only_on_a_contaminated_pool(tmp_path):
    def scores(name: str, **options) -> list:
        config = TrainConfig(out=str(tmp_path / name), labeled_frac=0.2, seed=1, **TINY, **options)
        return train(config).metrics["scores"]

    assert scores("clean-trim", pool="trim") == scores("clean-marginal", pool="marginal")
    assert scores("dirty-trim", contamination=0.2) != scores(
        "dirty-marginal", contamination=0.2, pool="marginal"
    )


def test_a_resumed_grid_refuses_cells_trained_with_other_options(tmp_path):
    base = TrainConfig(**{**TINY, "out": None})
    grid = dict(variants=("gmm",), budgets=(0.2,), seeds=(0,), echo=lambda _: None, contaminations=(0.2,))
    run_ablation(tmp_path / "grid", base, **grid)
    rows = run_ablation(tmp_path / "grid", base, **grid)  # same options: reused
    # Every stored score's test AUC is a column, and the contamination is one too.
    assert {"test_auc[posterior]", "test_auc[flow]", "test_auc[recon]", "test_auc[fused]"} <= set(rows[0])
    assert rows[0]["contamination"] == 0.2 and rows[0]["test_auc[fused]"] == rows[0]["auc"]  # the default
    marginal = TrainConfig(**{**TINY, "out": None, "pool": "marginal"})
    with pytest.raises(FlowgmmAEError, match=r"pool='trim' \(grid: 'marginal'\)"):
        run_ablation(tmp_path / "grid", marginal, **grid)


def test_records_without_a_pool_were_trained_with_the_marginal():
    from flowgmm_ae.runs import train_config_from_record

    assert train_config_from_record({"contamination": 0.1}).pool == "marginal"
    assert train_config_from_record({"contamination": 0.0}).pool == "trim"  # unused on a clean pool
    assert train_config_from_record({"contamination": 0.1, "pool": "trim"}).pool == "trim"
    # Records older than contamination_mode added their hidden anomalies; a clean pool is either.
    assert train_config_from_record({"contamination": 0.1}).contamination_mode == "add"
    assert train_config_from_record({"contamination": 0.0}).contamination_mode == "replace"


def test_only_the_marginal_pool_warns_of_its_collapse(tmp_path, caplog):
    from flowgmm_ae.data import load_dataset
    from flowgmm_ae.protocol import apply_protocol

    config = TrainConfig(**TINY, labeled_frac=0.2, contamination=0.1)
    dataset = load_dataset(config.dataset, image_size=config.image_size, seed=0)
    with caplog.at_level("WARNING"):
        apply_protocol(dataset, config)
    assert "collapsed" not in caplog.text
    with caplog.at_level("WARNING"):
        apply_protocol(dataset, TrainConfig(**TINY, labeled_frac=0.2, contamination=0.1, pool="marginal"))
    assert "pool='marginal'" in caplog.text and "collapsed" in caplog.text


def test_an_assumed_contamination_alone_trims_a_clean_pool(tmp_path):
    def scores(name: str, **options) -> list:
        config = TrainConfig(out=str(tmp_path / name), labeled_frac=0.2, seed=1, **TINY, **options)
        return train(config).metrics["scores"]

    assert scores("clean", pool="trim") != scores("clean-assumed", assumed_contamination=0.2)


def test_the_assumed_contamination_defaults_to_the_mixed_in_one(tmp_path):
    assert TrainConfig(contamination=0.1).pool_contamination() == 0.1
    assert TrainConfig(contamination=0.1, assumed_contamination=0.05).pool_contamination() == 0.05
    assert TrainConfig(contamination=0.1, assumed_contamination=0.0).pool_objective() == "normal"
    assert TrainConfig(assumed_contamination=0.1, pool="marginal").pool_objective() == "marginal"
    with pytest.raises(ConfigError, match=r"assumed_contamination=1.5 must lie in \[0, 1\)"):
        train(TrainConfig(out=str(tmp_path / "a"), assumed_contamination=1.5, **TINY))


def test_the_unlabeled_pool_has_the_same_size_clean_and_contaminated():
    from flowgmm_ae.data import load_dataset
    from flowgmm_ae.protocol import apply_protocol

    dataset = load_dataset("synthetic", image_size=TINY["image_size"], seed=0)
    pools = {
        c: apply_protocol(dataset, TrainConfig(**TINY, labeled_frac=0.2, contamination=c), announce=False)
        for c in (0.0, 0.1)
    }
    clean, dirty = (pools[c].split for c in (0.0, 0.1))
    assert len(dirty.unlabeled) == len(clean.unlabeled)
    assert len(dirty.hidden_anomalies) == round(0.1 * len(clean.unlabeled)) > 0
    assert (dirty.labeled == clean.labeled).all()
    grown = apply_protocol(
        dataset,
        TrainConfig(**TINY, labeled_frac=0.2, contamination=0.1, contamination_mode="add"),
        announce=False,
    ).split
    assert len(grown.unlabeled) > len(clean.unlabeled)
