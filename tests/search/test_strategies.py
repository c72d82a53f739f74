"""The strategies' samplers: what they propose, not how they are built."""

from __future__ import annotations

import optuna
import pytest

from tunelab.search import Float
from tunelab.search.strategies import SearchContext, create_sampler, tpe_gamma


def test_tpe_gamma_keeps_the_best_few() -> None:
    # hyperopt's rule: ceil(sqrt(n) / 4), at most 25; Optuna's default would keep 10 of 100
    assert [tpe_gamma(n) for n in (1, 16, 17, 100, 101, 10_000, 20_000)] == [
        1, 1, 2, 3, 3, 25, 25,
    ]  # fmt: skip


@pytest.mark.parametrize("strategy", ["tpe", "auto"])
def test_tpe_models_the_best_complete_trials_not_every_complete_one(strategy: str) -> None:
    """100 finished trials: 3 complete ones near x = 0.1 end best, 7 complete ones near
    x = 0.9 end a little worse, 90 were pruned in between. A tenth of the trials as "good"
    (Optuna's default) takes all 10 complete ones and proposes mostly near 0.9; the best few
    (tpe_gamma) propose near 0.1."""
    space = {"x": Float(0.0, 1.0)}
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    study = optuna.create_study(
        direction="maximize", sampler=create_sampler(strategy, SearchContext(space, seed=3))
    )
    trials = []
    for i in range(3):
        trials.append(optuna.trial.create_trial(
            params={"x": 0.09 + 0.01 * i}, distributions={"x": dist}, value=1.0,
            intermediate_values={1: 0.5, 2: 0.8},
        ))  # fmt: skip
    for i in range(7):
        trials.append(optuna.trial.create_trial(
            params={"x": 0.87 + 0.01 * i}, distributions={"x": dist}, value=0.9,
            intermediate_values={1: 0.5, 2: 0.8},
        ))  # fmt: skip
    for i in range(90):
        trials.append(optuna.trial.create_trial(
            params={"x": 0.3 + 0.4 * i / 89}, distributions={"x": dist},
            state=optuna.trial.TrialState.PRUNED, intermediate_values={1: 0.2},
        ))  # fmt: skip
    study.add_trials(trials)
    proposed = [study.ask({"x": dist}).params["x"] for _ in range(6)]
    assert sum(x < 0.3 for x in proposed) >= 5, proposed
