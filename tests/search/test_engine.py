"""The tuning engine on toy objectives: strategies, pruners, budgets, failures, seeds."""

from __future__ import annotations

import functools
import math
import time

import optuna
import pytest

from tunelab.errors import TunelabError
from tunelab.search import (
    PRUNERS,
    STRATEGIES,
    Categorical,
    Float,
    Int,
    Pruned,
    Reporter,
    rerun,
    trial_seed,
    tune,
)
from tunelab.search.pruners import resolve_pruner
from tunelab.search.strategies import SearchContext, resolve_strategy
from tunelab.search.toy import curve, score

SPACE = {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}
EPOCHS = 3
CEILING = 1 - 0.5**EPOCHS  # the toy's best final value with EPOCHS epochs

optuna.logging.set_verbosity(optuna.logging.WARNING)


def short(**kwargs):
    return functools.partial(curve, epochs=EPOCHS, **kwargs)


# How many trials each strategy gets, and the fraction of the optimum it must reach.
STRATEGY_CASES = {
    "random": (60, 0.85),
    "tpe": (30, 0.97),
    "gp": (8, 0.97),
    "cmaes": (60, 0.97),
    "auto": (30, 0.97),
}


@pytest.mark.parametrize("strategy", sorted(STRATEGY_CASES))
def test_every_strategy_finds_a_near_optimum(strategy):
    if strategy == "cmaes":
        pytest.importorskip("cmaes")
    n_trials, fraction = STRATEGY_CASES[strategy]
    result = tune(short(), SPACE, strategy=strategy, pruner="none", n_trials=n_trials)
    assert result.stopped_reason == "n_trials"
    assert len(result.trials) == n_trials
    assert result.best_value >= fraction * CEILING
    assert result.best_value == pytest.approx(score(result.best_params) * CEILING)


def test_grid_tries_every_point_then_stops():
    space = {"x": Float(-1.0, 1.0), "kind": Categorical(["a", "b", "c"])}
    result = tune(short(), space, strategy="grid", pruner="none")
    assert result.stopped_reason == "exhausted"
    assert len(result.trials) == 9
    assert {(t.params["x"], t.params["kind"]) for t in result.trials} == {
        (x, k) for x in (-1.0, 0.0, 1.0) for k in "abc"
    }
    assert result.best_params == {"x": 0.0, "kind": "a"}  # the best point on the grid


def test_cmaes_without_its_package_explains(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_cmaes(name, *args, **kwargs):
        if name == "cmaes":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cmaes)
    with pytest.raises(TunelabError, match="pip install cmaes"):
        tune(short(), SPACE, strategy="cmaes", n_trials=5)


@pytest.mark.parametrize("pruner", ["asha", "hyperband", "median", "auto"])
def test_every_pruner_stops_bad_trials(pruner):
    result = tune(
        functools.partial(curve, epochs=9),
        SPACE,
        strategy="random",
        pruner=pruner,
        n_trials=40,
        max_resource=9,
    )
    pruned = [t for t in result.trials if t.state == "pruned"]
    assert len(pruned) >= 5
    assert all(t.status == "pruned" for t in pruned)
    assert all(len(t.intermediate_values) < 9 for t in pruned)
    # Pruned trials are the bad ones: none of them beats the best complete trial's curve.
    best = result.best_value
    assert all(t.value < best for t in pruned)
    assert result.best_value >= 0.8


def test_no_pruner_runs_every_trial_to_the_end():
    result = tune(short(), SPACE, strategy="random", pruner="none", n_trials=15)
    assert {t.state for t in result.trials} == {"complete"}


def test_auto_choices():
    small = {"opt": Categorical(["a", "b"]), "layers": Int(1, 3)}
    assert resolve_strategy("auto", SearchContext(small, 0, n_trials=6)) == "grid"
    assert resolve_strategy("auto", SearchContext(small, 0, n_trials=5)) == "tpe"
    assert resolve_strategy("auto", SearchContext(small, 0)) == "tpe"  # budget only
    assert resolve_strategy("auto", SearchContext(SPACE, 0, n_trials=1000)) == "tpe"
    assert resolve_strategy("random", SearchContext(SPACE, 0)) == "random"
    assert resolve_pruner("auto", SearchContext(SPACE, 0)) == "asha"
    assert resolve_pruner("auto", SearchContext(SPACE, 0, max_resource=9)) == "asha"
    assert resolve_pruner("auto", SearchContext(SPACE, 0, max_resource=52)) == "asha from epoch 6"
    assert resolve_pruner("auto", SearchContext(SPACE, 0, max_resource=10)) == "asha from epoch 2"
    assert resolve_pruner("auto", SearchContext(SPACE, 0, max_resource=2)) == "none"
    assert resolve_pruner("hyperband", SearchContext(SPACE, 0)) == "hyperband"
    result = tune(short(), small, n_trials=6)
    assert (result.strategy, result.pruner) == ("grid", "asha")
    late = tune(curve, SPACE, strategy="random", n_trials=30, max_resource=9 * 3)
    assert late.pruner == "asha from epoch 3"
    assert all(len(t.intermediate_values) >= 3 for t in late.trials)  # no stop before epoch 3


def test_registries_list_the_documented_names():
    assert set(STRATEGIES) == {"auto", "grid", "random", "tpe", "gp", "cmaes"}
    assert set(PRUNERS) == {"auto", "asha", "hyperband", "median", "none"}
    assert all(entry.description for entry in [*STRATEGIES.values(), *PRUNERS.values()])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "tpee", "n_trials": 3}, 'unknown strategy .* Did you mean "tpe"'),
        ({"pruner": "ashaa", "n_trials": 3}, 'unknown pruner .* Did you mean "asha"'),
        ({"direction": "max", "n_trials": 3}, "unknown direction"),
        ({}, "give n_trials or budget_seconds"),
        ({"n_trials": 0}, "n_trials must be a whole number >= 1"),
        ({"budget_seconds": -1}, "budget_seconds must be"),
        ({"n_trials": 3, "workers": 0}, "workers must be"),
        ({"n_trials": 3, "resume": True}, "resume needs a storage"),
        ({"n_trials": 3, "initial_points": [{"z": 1}]}, "initial point 1 sets 'z'"),
        (
            {"n_trials": 3, "seed": -1},
            r"seed must be a whole number from 0 to 2\*\*32 - 1 \(got -1\)",
        ),
        ({"n_trials": 3, "seed": 2**32}, r"seed must be .*\(got 4294967296\)"),
        ({"n_trials": 3, "seed": 1.5}, r"seed must be .*\(got 1.5\)"),
    ],
)
def test_bad_arguments_raise_one_line_errors(kwargs, message):
    kwargs.setdefault("study_name", "s") if kwargs.get("resume") else None
    with pytest.raises(TunelabError, match=message):
        tune(short(), SPACE, **kwargs)


def test_n_trials_is_exact_and_result_is_complete():
    result = tune(short(), SPACE, n_trials=7, pruner="none")
    assert result.stopped_reason == "n_trials"
    assert [t.number for t in result.trials] == list(range(7))
    trial = result.trials[0]
    assert trial.state == "complete" and trial.status == "complete"
    assert set(trial.intermediate_values) == {1, 2, 3}
    assert trial.duration is not None and trial.duration >= 0
    assert result.study().trials[0].params == trial.params  # the in-memory Optuna study
    assert "7 complete" in result.summary() and "stopped: n_trials" in result.summary()


def test_minimize():
    result = tune(
        lambda p, r: (p["x"] - 0.5) ** 2, {"x": Float(-1, 1)}, n_trials=25, direction="minimize"
    )
    assert result.direction == "minimize"
    assert abs(result.best_params["x"] - 0.5) < 0.1


def test_budget_stops_between_trials_within_five_percent():
    budget = 2.0
    result = tune(short(sleep=0.1), SPACE, pruner="none", budget_seconds=budget)
    assert result.stopped_reason == "budget"
    assert result.elapsed_seconds <= budget * 1.05 + 0.1
    # Trials take ~0.3 s, so a handful ran; none was cut short, none started too late.
    assert len(result.trials) >= 4
    assert all(t.status == "complete" for t in result.trials)


def test_budget_stops_a_long_trial_at_its_next_report():
    budget, step = 2.0, 0.1
    result = tune(
        functools.partial(curve, epochs=100, sleep=step),
        SPACE,
        pruner="none",
        budget_seconds=budget,
    )
    assert result.stopped_reason == "budget"
    assert result.elapsed_seconds <= budget * 1.05 + step
    (trial,) = result.trials
    assert trial.state == "pruned" and trial.status == "budget"
    assert 10 <= len(trial.intermediate_values) < 100
    assert result.best_value is None and "No trial completed" in result.summary()


def test_nan_and_errors_fail_one_trial_and_the_study_goes_on():
    objective = short(fail_on={1}, diverge_on={2})
    result = tune(objective, SPACE, pruner="none", n_trials=5)
    assert result.stopped_reason == "n_trials"
    statuses = [t.status for t in result.trials]
    assert statuses == ["complete", "error", "diverged", "complete", "complete"]
    assert result.trials[1].state == "fail"
    assert result.trials[1].error == "ValueError: toy failure"
    assert "not finite" in result.trials[2].error


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None, "high"])
def test_bad_return_values_fail_the_trial(bad):
    result = tune(lambda p, r: bad, SPACE, n_trials=2)
    expected = "error" if bad is None or isinstance(bad, str) else "diverged"
    assert [t.status for t in result.trials] == [expected, expected]
    assert result.best_trial_number is None


def test_objective_that_returns_when_told_to_stop_is_recorded_as_pruned():
    def polite(params, reporter):
        value = 0.0
        for epoch in range(1, 10):
            value = (score(params) if params["x"] > 0 else -5.0) * epoch
            try:
                reporter.report(epoch, value)
            except Pruned:
                pass  # swallows the exception, but asks:
            if reporter.should_stop():
                return value
        return value

    result = tune(polite, SPACE, strategy="random", pruner="asha", n_trials=30)
    early = [t for t in result.trials if len(t.intermediate_values) < 9]
    assert early and all(t.state == "pruned" and t.status == "pruned" for t in early)


def test_initial_points_run_first():
    points = [{"x": 0.3, "y": -0.2}, {"x": -0.9}]
    result = tune(short(), SPACE, pruner="none", n_trials=4, initial_points=points)
    assert result.trials[0].params == {"x": 0.3, "y": -0.2}
    assert result.trials[1].params["x"] == -0.9
    assert result.best_trial_number == 0
    assert result.trials[0].user_attrs["initial_point"] is True


@pytest.mark.parametrize("prune", [True, False])
def test_initial_points_are_pruned_unless_told_not_to(prune):
    def objective(params, reporter):  # the value grows with the epoch; x sets its level
        for epoch in range(1, 10):
            reporter.report(epoch, params["x"] * epoch / 9)
        return params["x"]

    points = [{"x": 0.9}, {"x": 0.1}, {"x": 0.05}]
    result = tune(objective, {"x": Float(0, 1)}, pruner="asha", max_resource=9, n_trials=3,
                  initial_points=points, prune_initial_points=prune)  # fmt: skip
    statuses = [t.status for t in result.trials]
    if prune:  # behind the first at the first rung: stopped there
        assert statuses == ["complete", "pruned", "pruned"]
    else:  # run to the last epoch; the pruner judges only sampled trials
        assert statuses == ["complete", "complete", "complete"]
        assert all(len(t.intermediate_values) == 9 for t in result.trials)
        assert all(t.user_attrs["unpruned"] is True for t in result.trials)


def test_fixed_values_reach_the_objective_and_the_records():
    seen = []

    def objective(params, reporter):
        seen.append(params)
        return params["x"]

    result = tune(objective, {"x": Float(0, 1), "optimizer": "adam"}, n_trials=2)
    assert all(p["optimizer"] == "adam" for p in seen)
    assert result.best_params["optimizer"] == "adam"


@pytest.mark.parametrize(("strategy", "random_trials"), [("random", 25), ("tpe", 5), ("auto", 5)])
def test_a_new_study_draws_its_first_settings_as_optuna_seeded_alike(strategy, random_trials):
    # tune(seed=s) and Optuna's RandomSampler(seed=s) (which TPESampler(seed=s) uses before
    # it models) must propose the same first settings: a comparison with Optuna then
    # compares the methods, not two random streams.
    from tunelab.search.space import suggest

    space = {"x": Float(-1.0, 1.0), "lr": Float(1e-4, 1e-1, log=True), "n": Int(1, 5)}
    ours = tune(short(), space, strategy=strategy, pruner="none", n_trials=25, seed=11)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(11))
    study.optimize(lambda trial: short()(suggest(trial, space), Reporter()), n_trials=25)
    theirs = [t.params for t in study.trials]
    assert [t.params for t in ours.trials][:random_trials] == theirs[:random_trials]
    if random_trials < 25:  # then it models: later proposals are its own
        assert [t.params for t in ours.trials][random_trials:] != theirs[random_trials:]


def test_per_trial_seed_is_recorded_and_reproduces_the_trial():
    objective = short(noise=0.05)
    result = tune(objective, SPACE, pruner="none", n_trials=4, seed=7)
    for trial in result.trials:
        assert trial.seed == trial_seed(7, trial.number)
        assert rerun(objective, trial) == trial.value
    assert len({t.seed for t in result.trials}) == 4
    again = tune(objective, SPACE, pruner="none", n_trials=4, seed=7)
    assert [t.value for t in again.trials] == [t.value for t in result.trials]
    other = tune(objective, SPACE, pruner="none", n_trials=4, seed=8)
    assert [t.params for t in other.trials] != [t.params for t in result.trials]


def test_reporter_alone_records_and_checks_steps():
    reporter = Reporter(seed=3, trial_number=5)
    reporter.report(1, 0.5)
    assert reporter.values == {1: 0.5} and not reporter.should_stop()
    with pytest.raises(TunelabError, match="step must be a whole number"):
        reporter.report(1.5, 0.5)  # type: ignore[arg-type]
    deadline = Reporter(deadline=time.time() - 1)
    with pytest.raises(Pruned, match="time budget"):
        deadline.report(1, 0.5)
    assert deadline.stop_reason == "budget"


def test_public_api_is_pinned():
    import tunelab.search as search

    assert search.__all__ == sorted(search._EXPORTS)
    assert set(search.__all__) >= {
        "tune",
        "TuneResult",
        "Reporter",
        "Pruned",
        "Float",
        "Int",
        "Categorical",
        "STRATEGIES",
        "PRUNERS",
    }
    for name in search.__all__:
        assert getattr(search, name) is not None


def test_a_diverged_trial_is_logged_in_one_line_without_a_traceback():
    import logging

    from tunelab.search.reporter import Diverged

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("optuna.study._optimize")
    logger.addHandler(handler)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # other tests may have lowered it

    def objective(params, reporter):
        raise Diverged("loss 1e9 at step 3")

    try:
        tune(objective, {"x": Float(0, 1)}, n_trials=1)
    finally:
        logger.removeHandler(handler)
        optuna.logging.set_verbosity(verbosity)
    failed = [r for r in records if "loss 1e9 at step 3" in r.getMessage()]
    assert failed and all(r.exc_info is None for r in failed)


def test_queued_points_not_reached_are_counted_apart_in_the_summary():
    def stop_after_two(study, trial):
        if trial.number == 1:
            study.stop()

    points = [{"x": 0.1}, {"x": 0.2}, {"x": 0.3}, {"x": 0.4}]
    result = tune(short(), SPACE, n_trials=10, initial_points=points, pruner="none",
                  callbacks=[stop_after_two])  # fmt: skip
    assert [t.state for t in result.trials] == ["complete", "complete", "waiting", "waiting"]
    text = result.summary()
    assert "2 trials (2 complete)" in text and "2 queued trials not started" in text
