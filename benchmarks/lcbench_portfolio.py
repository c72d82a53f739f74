"""A warm-start portfolio for LCBench, chosen offline and leave-one-task-out.

A pool of 1,000 random configurations (its own seed, not the reference's) is trained fully
on every task (cached on disk). For a held-out task, the portfolio is built greedily from
the pool using the *other 33 tasks only*: each step adds the configuration that most lowers
the mean normalised regret, over those tasks, at 1, 2.5 and 5 R (2, 5 and 10 % of the
budget) when the portfolio so far runs fully, one configuration after another. So a
configuration is worth adding when it is good on tasks where the others are not, and cheap
enough to finish early. The held-out task's data never enters its portfolio.

    python benchmarks/lcbench_portfolio.py   # prints each task's portfolio
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lcbench_surrogate import CACHE, LCBench, random_configs, reference  # noqa: E402

POOL_SIZE, POOL_SEED = 1000, 777
SIZE = 6  # configurations in a portfolio
HORIZONS_R = (1.0, 2.5, 5.0)


def _pool_task(task: str) -> tuple[list[float], list[float]]:
    path = CACHE / f"lcbench-pool-{POOL_SIZE}-{POOL_SEED}-{task}.json"
    if path.is_file():
        data = json.loads(path.read_text())
        return data["final"], data["cost"]
    accuracy, seconds = LCBench().curves(task, random_configs(POOL_SIZE, POOL_SEED))
    data = {"final": accuracy[:, -1].tolist(), "cost": seconds[:, -1].tolist()}
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
    return data["final"], data["cost"]


@cache
def _pool() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(tasks, regret[task, config], cost in R[task, config]) over the pool."""
    bench = LCBench()
    tasks = bench.tasks
    regrets, costs = [], []
    for task in tasks:
        final, cost = _pool_task(task)
        ref = reference(bench, task)
        regrets.append((ref["best"] - np.array(final)) / (ref["best"] - ref["median"]))
        costs.append(np.array(cost) / ref["R"])
    return tasks, np.array(regrets), np.array(costs)


def choose(regret: np.ndarray, cost: np.ndarray, size: int = SIZE) -> list[int]:
    """Greedy portfolio (pool indices) minimising the mean regret at ``HORIZONS_R``."""
    n_tasks, n_pool = regret.shape
    spent = np.zeros(n_tasks)
    # best[t, h]: the portfolio's incumbent regret on task t at horizon h (1 before any).
    best = np.ones((n_tasks, len(HORIZONS_R)))
    horizons = np.array(HORIZONS_R)
    chosen: list[int] = []
    for _ in range(size):
        finish = spent[:, None] + cost  # (tasks, pool)
        done = finish[:, :, None] <= horizons[None, None, :]  # (tasks, pool, horizons)
        improved = np.minimum(best[:, None, :], regret[:, :, None])
        candidate = np.where(done, improved, best[:, None, :])
        score = candidate.mean(axis=(0, 2))
        score[chosen] = np.inf
        pick = int(np.argmin(score))
        chosen.append(pick)
        best = candidate[:, pick, :]
        spent = finish[:, pick]
    return chosen


@cache
def portfolio_for(task: str) -> list[dict[str, Any]]:
    """The portfolio for ``task``, chosen on every other task."""
    tasks, regret, cost = _pool()
    others = [i for i, t in enumerate(tasks) if t != task]
    configs = random_configs(POOL_SIZE, POOL_SEED)
    return [configs[i] for i in choose(regret[others], cost[others])]


def main() -> int:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_pool_task, LCBench().tasks))
    tasks, regret, cost = _pool()
    for i, task in enumerate(tasks):
        picks = choose(np.delete(regret, i, axis=0), np.delete(cost, i, axis=0))
        held = ", ".join(f"{regret[i, p]:.2f}@{cost[i, p]:.2f}R" for p in picks)
        print(f"{task}: held-out regret@cost {held}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
