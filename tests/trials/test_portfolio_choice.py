"""How benchmarks/image_portfolio.py orders the shipped portfolio (every order tried)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _module():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "image_portfolio", BENCHMARKS / "image_portfolio.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_a_cheap_fair_setting_goes_before_a_slow_best_one(monkeypatch) -> None:
    ip = _module()
    monkeypatch.setattr(ip, "HORIZONS", (1.0, 2.5, 5.0))
    # two data sets; column 0: best, 2.4 R; column 1: fair, 0.1 R; column 2: poor, 0.5 R
    regret = np.array([[0.0, 0.5, 0.9], [0.1, 0.6, 0.8]])
    cost = np.array([[2.4, 0.1, 0.5], [2.4, 0.1, 0.5]])
    # greedily the slow best comes first (0.37 mean regret alone, against the cheap one's
    # 0.55), so nothing is done by 1 R; cheap first, both are done by 2.5 R: 0.22
    assert ip.choose(regret, cost, size=2) == [1, 0]
    assert round(ip.anytime_regret(regret, cost, (1, 0)), 3) == 0.217
    assert round(ip.anytime_regret(regret, cost, (0, 1)), 3) == 0.367


def test_the_choice_is_the_lowest_anytime_regret_among_every_order() -> None:
    ip = _module()
    rng = np.random.default_rng(0)
    regret, cost = rng.uniform(0, 1.2, (3, 6)), rng.uniform(0.1, 4, (3, 6))
    picked = ip.choose(regret, cost, size=3)
    assert len(set(picked)) == 3
    best = ip.anytime_regret(regret, cost, tuple(picked))
    assert all(
        ip.anytime_regret(regret, cost, order) >= best - 1e-12
        for order in itertools.permutations(range(6), 3)
    )


def test_nothing_finished_counts_as_the_worst_regret() -> None:
    ip = _module()
    regret, cost = np.array([[0.2, 1.5]]), np.array([[30.0, 30.0]])
    assert ip.anytime_regret(regret, cost, (0, 1)) == 1.5
