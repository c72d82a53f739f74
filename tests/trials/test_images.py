"""Tuning tunelab's trainer: default space from the knob model, trials as runs, resume."""

from __future__ import annotations

import optuna
import pytest

from tunelab.data import make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters, knob_info
from tunelab.runs import RunStore
from tunelab.search.space import Fixed
from tunelab.trials.images import build_space, default_space, parse_budget, tune_images
from tunelab.trials.portfolio import starting_points


def test_default_space_is_the_tunable_knobs() -> None:
    space = default_space()
    tunable = {f for f in Hyperparameters.model_fields if knob_info(f).get("tunable")}
    assert set(space) == tunable
    assert {"learning_rate", "batch_size", "optimizer", "dropout", "model"} <= set(space)
    assert space["learning_rate"].log


def test_fix_and_range_narrow_the_space() -> None:
    space = build_space(fixes=["optimizer=adam"], ranges=["learning_rate=1e-3:1e-2"])
    assert isinstance(space["optimizer"], Fixed)
    assert (space["learning_rate"].low, space["learning_rate"].high) == (1e-3, 1e-2)


def test_unknown_knob_in_space_is_refused() -> None:
    with pytest.raises(TunelabError, match='Did you mean "learning_rate"'):
        build_space(ranges=["learnig_rate=1e-3:1e-2"])


@pytest.mark.parametrize(
    ("text", "seconds"), [("20m", 1200), ("90s", 90), ("1h30m", 5400), ("45", 45)]
)
def test_budget(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-5m", "0", "10x", ""])
def test_bad_budget(text: str) -> None:
    with pytest.raises(TunelabError, match="budget"):
        parse_budget(text)


def test_tune_runs_trials_as_runs_and_resumes(tmp_path) -> None:
    data = make_synthetic_folder(tmp_path / "data", classes=3, per_class=10, size=(10, 10))
    hp = Hyperparameters(epochs=2, threads=1, model="mlp")
    space = build_space(
        fixes=[
            "model=mlp",
            "activation=relu",
            "dropout=0",
            "weight_decay=0",
            "optimizer=adam",
            "batch_size=8",
        ]
    )
    result = tune_images(
        data, hp, space=space, store=tmp_path / "runs", study_name="s1", n_trials=3
    )
    assert len(result.trials) == 3
    assert result.best_value is not None
    names = RunStore(tmp_path / "runs").names()
    assert [n for n in names if n.startswith("s1-trial-")] == [
        "s1-trial-0000",
        "s1-trial-0001",
        "s1-trial-0002",
    ]
    # the first trials are the warm-start portfolio's, cut to the searched knobs
    first = starting_points(space)
    assert first
    for trial, point in zip(result.trials, first, strict=False):
        assert {key: trial.params[key] for key in point} == point
    study = optuna.load_study(study_name="s1", storage=result.storage)
    assert len(study.trials) == 3
    again = tune_images(
        data, hp, space=space, store=tmp_path / "runs", study_name="s1", n_trials=4, resume=True
    )
    assert len(again.trials) == 4
    with pytest.raises(TunelabError, match="exists"):
        tune_images(data, hp, space=space, store=tmp_path / "runs", study_name="s1", n_trials=1)


def test_a_diverging_trial_is_recorded_and_the_study_goes_on(tmp_path) -> None:
    from tunelab.search.space import Categorical

    data = make_synthetic_folder(tmp_path / "data", classes=3, per_class=10, size=(10, 10))
    hp = Hyperparameters(epochs=3, threads=1, optimizer="sgd", batch_size=4, model="mlp")
    space = {"learning_rate": Categorical([10.0, 0.03])}
    result = tune_images(
        data,
        hp,
        space=space,
        store=tmp_path / "runs",
        study_name="nan",
        strategy="grid",
        portfolio=False,
    )
    statuses = {t.params["learning_rate"]: t.status for t in result.trials}
    assert statuses[10.0] == "diverged"
    assert result.best_params == {"learning_rate": 0.03}


def test_transfer_knobs_are_not_searched_without_trained_weights(tmp_path) -> None:
    result = tune_images("digits", store=tmp_path, n_trials=2, epochs=1, threads=1, progress=False)
    for trial in result.trials:
        assert "freeze_epochs" not in trial.params and "backbone_lr_factor" not in trial.params
