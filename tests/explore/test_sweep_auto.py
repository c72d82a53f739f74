"""A sweep with ``learning_rate: auto``: the range test runs once, before planning; a
learning-rate ladder centres on its choice, and every run of the sweep shares it."""

from __future__ import annotations

import pytest

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.explore.ladders import ladder
from tunelab.explore.sweep import check_values, sweep
from tunelab.knobs import Hyperparameters
from tunelab.runs import RunStore
from tunelab.training import lr_find

FAST = {"epochs": 1, "threads": 1, "device": "cpu", "batch_size": 8}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = make_synthetic_folder(
        tmp_path_factory.mktemp("tiny") / "data", classes=2, per_class=10, size=(8, 8)
    )
    return load_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture
def range_tests(monkeypatch):
    calls = []
    real = lr_find.find_lr

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result.suggested)
        return result

    monkeypatch.setattr(lr_find, "find_lr", spy)
    return calls


def test_a_learning_rate_ladder_centres_on_the_resolved_value(tiny, tmp_path, range_tests):
    base = Hyperparameters(learning_rate="auto", **FAST)
    result = sweep(tiny, "learning_rate", None, base, store=tmp_path, workers=1)
    chosen = lr_find.resolve_auto_learning_rate(tiny, base)
    assert result.values == ladder("learning_rate", chosen)
    assert chosen in result.values
    assert result.hyperparameters["learning_rate"] == chosen
    assert len(range_tests) == 2  # the sweep's one, and this test's own


def test_every_run_of_a_sweep_shares_the_one_resolved_rate(tiny, tmp_path, range_tests):
    result = sweep(tiny, "dropout", [0.0, 0.5], {"learning_rate": " AUTO "}, store=tmp_path, **FAST)
    assert len(range_tests) == 1  # once for the sweep, not once a run
    store = RunStore(tmp_path)
    rates = {store.get(row.run).hyperparameters.learning_rate for row in result.rows}
    assert len(rates) == 1 and isinstance(rates.pop(), float)
    assert all(store.get(row.run).summary["learning_rate_auto"] is None for row in result.rows)


def test_given_learning_rates_need_no_range_test(tiny, tmp_path, range_tests):
    base = {"learning_rate": "auto"}
    result = sweep(tiny, "learning_rate", [0.01, 0.1], base, store=tmp_path, workers=1, **FAST)
    assert result.values == [0.01, 0.1] and range_tests == []


def test_values_are_checked_before_the_range_test(range_tests):
    hp = Hyperparameters(learning_rate="auto")
    check_values("learning_rate", None, hp)  # the ladder waits for the range test
    with pytest.raises(Exception, match="invalid dropout"):
        check_values("dropout", [0.1, 3], hp)
    assert range_tests == []
