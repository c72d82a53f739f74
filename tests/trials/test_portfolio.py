"""The warm-start portfolio: valid settings inside the default space, tried first, in order."""

from __future__ import annotations

import pytest

from tunelab.data import make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.search.space import Categorical, Fixed, Float
from tunelab.trials.images import TRANSFER_ONLY, default_space, tune_images
from tunelab.trials.portfolio import PORTFOLIO, starting_points


@pytest.mark.parametrize("point", PORTFOLIO, ids=lambda p: f"{p['model']}-{p['optimizer']}")
def test_every_portfolio_point_is_a_valid_setting_inside_the_default_space(point) -> None:
    Hyperparameters(**point)  # validates every knob once, as a run would
    space = default_space()
    assert set(point) <= set(space) - set(TRANSFER_ONLY)
    for key, value in point.items():
        assert space[key].contains(value), (key, value)


def test_the_whole_default_space_keeps_every_point_whole_and_in_order() -> None:
    space = {k: v for k, v in default_space().items() if k not in TRANSFER_ONLY}
    assert starting_points(space) == [dict(p) for p in PORTFOLIO]
    assert len(PORTFOLIO) >= 3


def test_points_are_cut_to_the_searched_knobs_and_deduplicated() -> None:
    space = {
        "learning_rate": Float(1e-3, 1e-2, log=True),
        "optimizer": Fixed("adam"),
        "batch_size": Categorical([16, 32]),
    }
    points = [
        {"learning_rate": 0.003, "optimizer": "sgd", "batch_size": 32, "model": "cnn"},
        {"learning_rate": 0.003, "optimizer": "adam", "batch_size": 32},  # same, once cut
        {"learning_rate": 0.5, "batch_size": 64},  # outside the space: nothing left
        {"learning_rate": 0.005, "batch_size": 64},  # batch 64 is not searched: rate only
    ]
    assert starting_points(space, points) == [
        {"learning_rate": 0.003, "batch_size": 32},
        {"learning_rate": 0.005},
    ]


def _data(tmp_path):
    return make_synthetic_folder(tmp_path / "data", classes=3, per_class=8, size=(10, 10))


SPACE = {"learning_rate": Float(1e-3, 1e-1, log=True), "batch_size": Categorical([4, 8])}


def test_a_given_portfolio_is_tried_first_in_order(tmp_path, capsys) -> None:
    given = [{"learning_rate": 0.02, "batch_size": 8}, {"learning_rate": 0.004, "batch_size": 4}]
    result = tune_images(_data(tmp_path), store=tmp_path / "runs", space=SPACE, n_trials=3,
                         portfolio=given, epochs=1, threads=1, model="mlp", progress="stdout",
                         ensemble=0)  # fmt: skip
    assert [t.params for t in result.trials[:2]] == given
    assert result.trials[2].params not in given  # then the strategy samples
    lines = capsys.readouterr().out.splitlines()
    assert (
        "warm start: the first 2 trials try the settings given, then the strategy samples" in lines
    )
    trial_lines = [line for line in lines if line.startswith("trial ")]
    assert [line.split(":")[0].split(" ", 2)[2] for line in trial_lines] == [
        "(warm start) complete",
        "(warm start) complete",
        "complete",
    ]  # the sampled third trial is not marked


def test_without_a_portfolio_the_strategy_samples_from_the_first_trial(tmp_path, capsys) -> None:
    shipped = starting_points(SPACE)
    result = tune_images(_data(tmp_path), store=tmp_path / "runs", space=SPACE, n_trials=2,
                         portfolio=False, epochs=1, threads=1, model="mlp", progress="stdout",
                         ensemble=0)  # fmt: skip
    assert all(t.params not in shipped for t in result.trials)
    assert "warm start" not in capsys.readouterr().out


def test_the_shipped_portfolio_is_announced_and_cut_to_the_trials(tmp_path, capsys) -> None:
    tune_images(_data(tmp_path), store=tmp_path / "runs", space=SPACE, n_trials=1, epochs=1,
                threads=1, model="mlp", progress="stdout", ensemble=0)  # fmt: skip
    out = capsys.readouterr().out
    assert "warm start: the first trial tries settings from tunelab's portfolio" in out
    assert "then the strategy samples" not in out  # one trial: nothing is sampled
    assert "trial 0 (warm start) complete" in out


def test_a_misspelt_knob_in_a_given_portfolio_is_refused_before_any_trial(tmp_path) -> None:
    with pytest.raises(TunelabError, match='unknown hyperparameter .*Did you mean "learning_rate"'):
        tune_images(_data(tmp_path), store=tmp_path / "runs", space=SPACE, n_trials=1,
                    portfolio=[{"learnig_rate": 0.01}], epochs=1, progress=False)  # fmt: skip
    assert not (tmp_path / "runs" / "studies").exists() or not any(
        (tmp_path / "runs" / "studies").iterdir()
    )
