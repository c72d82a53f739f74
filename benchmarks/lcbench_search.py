"""tunelab ``auto`` against Optuna's TPE, TPE + Hyperband and random search on LCBench.

LCBench (via the YAHPO Gym surrogate, see ``lcbench_surrogate.py``) predicts, for an MLP
configuration on an OpenML task, the validation accuracy and the cumulative training time
after each of 52 epochs. Every method tunes the same 7 hyperparameters; its objective
reports the accuracy once per epoch, so pruners can stop a trial early.

Time is *simulated*: a trial costs the surrogate's training time up to the last epoch it
ran (the time output is cumulative), and a run stops once the trials it ran cost the
largest budget. Trials run one after another (``n_trials`` loops, stopped by a callback),
so the wall-clock budget of ``tune`` plays no part; the regret curve is rebuilt from the
trial records afterwards.

Budgets are in units of R, the task's median cost of one full 52-epoch run (over 64
random configurations). At each budget the incumbent is the best *complete* trial finished
within it (what ``TuneResult.best_value`` reports; a trial stopped early does not count).
Normalised regret per task: ``(best - incumbent) / (best - worst)`` over the surrogate's
range on that task: the best and worst final accuracy of 1,000 random configurations,
widened by anything a method found; 1 before the first complete trial.

Every objective reports each epoch and checks the pruner after it, except at the last
epoch (52), where stopping would only relabel a finished run; tunelab's Reporter does the
same when given ``max_resource``.

Methods:
  auto            tunelab.tune(strategy="auto", pruner="auto", max_resource=52)
  auto+init       the same, with the config space's defaults as ``initial_points``
  tpe             plain Optuna: TPESampler(seed) defaults, no pruning
  tpe+hyperband   plain Optuna: TPESampler(seed) + HyperbandPruner() defaults
  random          plain Optuna: RandomSampler(seed), no pruning
  candidates for auto (``--methods all``): tunelab's tpe with no pruner, asha (epochs 1,
  3, 9, 27), hyperband and median; Optuna random + asha.

Default: 8 tasks (every fourth of the 34, in config-space order) x 3 seeds, budget 40 R,
two processes; a few minutes. ``--tasks all`` runs all 34.

    python benchmarks/lcbench_search.py [--tasks all] [--seeds 5] [--methods all]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lcbench_surrogate import EPOCHS, LCBench  # noqa: E402

REQUIRED = ["auto", "auto+init", "tpe", "tpe+hyperband", "random"]
CANDIDATES = [
    "tunelab-tpe",
    "tunelab-tpe+asha",
    "tunelab-tpe+hyperband",
    "tunelab-tpe+median",
    "random+asha",
]
BUDGETS = (1, 2, 5, 10, 20, 40)  # in units of R (one full run)

_bench: LCBench | None = None


def bench() -> LCBench:
    global _bench
    if _bench is None:
        _bench = LCBench()
    return _bench


def lcbench_space() -> dict[str, Any]:
    from tunelab.search import Float, Int

    return {
        "batch_size": Int(16, 512, log=True),
        "learning_rate": Float(1e-4, 1e-1, log=True),
        "max_dropout": Float(0.0, 1.0),
        "max_units": Int(64, 1024, log=True),
        "momentum": Float(0.1, 0.99),
        "num_layers": Int(1, 5),
        "weight_decay": Float(1e-5, 0.1),
    }


def initial_point() -> dict[str, Any]:
    return {
        k: int(round(v)) if k in ("batch_size", "max_units", "num_layers") else float(v)
        for k, v in bench().default_config().items()
    }


def tunelab_objective(params: dict[str, Any], reporter: Any, *, task: str) -> float:
    accuracy, _ = bench().curve(task, params)
    for epoch in range(1, EPOCHS + 1):
        reporter.report(epoch, float(accuracy[epoch - 1]))
    return float(accuracy[-1])


class StopAtSimulatedBudget:
    """Optuna callback: adds up each trial's simulated cost; stops past ``limit`` seconds."""

    def __init__(self, task: str, limit: float) -> None:
        self.task, self.limit, self.spent = task, limit, 0.0
        self.trajectory: list[tuple[float, float | None]] = []  # (time, complete value)

    def __call__(self, study: Any, trial: Any) -> None:
        import optuna

        if not trial.intermediate_values:
            return
        _, seconds = bench().curve(self.task, trial.params)
        self.spent += float(seconds[max(trial.intermediate_values) - 1])
        done = trial.state == optuna.trial.TrialState.COMPLETE
        self.trajectory.append((self.spent, trial.value if done else None))
        if self.spent >= self.limit:
            study.stop()


def run_tunelab(task: str, seed: int, limit: float, strategy: str, pruner: str, init: bool):
    from tunelab.search import tune

    stop = StopAtSimulatedBudget(task, limit)
    tune(
        partial(tunelab_objective, task=task),
        lcbench_space(),
        strategy=strategy,
        pruner=pruner,
        n_trials=100_000,
        seed=seed,
        max_resource=EPOCHS,
        initial_points=[initial_point()] if init else None,
        callbacks=[stop],
    )
    return stop.trajectory


def run_optuna(task: str, seed: int, limit: float, sampler: str, pruner: str):
    import optuna

    from tunelab.search.space import suggest

    space = lcbench_space()

    def objective(trial: optuna.Trial) -> float:
        accuracy, _ = bench().curve(task, suggest(trial, space))
        for epoch in range(1, EPOCHS + 1):
            trial.report(float(accuracy[epoch - 1]), epoch)
            if epoch < EPOCHS and trial.should_prune():
                raise optuna.TrialPruned()
        return float(accuracy[-1])

    samplers: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    pruners: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
        "none": optuna.pruners.NopPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "asha": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    }
    study = optuna.create_study(
        direction="maximize", sampler=samplers[sampler](), pruner=pruners[pruner]()
    )
    stop = StopAtSimulatedBudget(task, limit)
    study.optimize(objective, n_trials=100_000, callbacks=[stop])
    return stop.trajectory


METHODS: dict[str, Callable[[str, int, float], list[tuple[float, float | None]]]] = {
    "auto": partial(run_tunelab, strategy="auto", pruner="auto", init=False),
    "auto+init": partial(run_tunelab, strategy="auto", pruner="auto", init=True),
    "tpe": partial(run_optuna, sampler="tpe", pruner="none"),
    "tpe+hyperband": partial(run_optuna, sampler="tpe", pruner="hyperband"),
    "random": partial(run_optuna, sampler="random", pruner="none"),
    "tunelab-tpe": partial(run_tunelab, strategy="tpe", pruner="none", init=False),
    "tunelab-tpe+asha": partial(run_tunelab, strategy="tpe", pruner="asha", init=False),
    "tunelab-tpe+hyperband": partial(run_tunelab, strategy="tpe", pruner="hyperband", init=False),
    "tunelab-tpe+median": partial(run_tunelab, strategy="tpe", pruner="median", init=False),
    "random+asha": partial(run_optuna, sampler="random", pruner="asha"),
}


def random_configs(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(n):
        config = {
            "batch_size": int(round(np.exp(rng.uniform(np.log(16), np.log(512))))),
            "learning_rate": float(np.exp(rng.uniform(np.log(1e-4), np.log(1e-1)))),
            "max_dropout": float(rng.uniform(0, 1)),
            "max_units": int(round(np.exp(rng.uniform(np.log(64), np.log(1024))))),
            "momentum": float(rng.uniform(0.1, 0.99)),
            "num_layers": int(rng.integers(1, 6)),
            "weight_decay": float(rng.uniform(1e-5, 0.1)),
        }
        configs.append(config)
    return configs


def task_scale(task: str) -> tuple[float, float, float]:
    """(R, best, worst): R is the median simulated time of a full 52-epoch run over 64
    random configurations; best and worst are final accuracies over 1,000 of them."""
    costs = [bench().curve(task, c)[1][-1] for c in random_configs(64, 12345)]
    finals = [bench().curve(task, c)[0][-1] for c in random_configs(1000, 54321)]
    bench()._cache.clear()
    return float(np.median(costs)), float(max(finals)), float(min(finals))


def one_run(job: tuple[str, str, int, float]) -> tuple[str, str, int, list, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    method, task, seed, limit = job
    started = time.perf_counter()
    # A seed per task and repetition: with one seed per repetition every task would start
    # from the same random configurations, and five draws would decide the small budgets.
    task_seed = (zlib.crc32(task.encode()) + 7919 * seed) % 2**31
    trajectory = METHODS[method](task, task_seed, limit)
    return method, task, seed, trajectory, time.perf_counter() - started


def incumbent(trajectory: list[tuple[float, float | None]], budget: float) -> float | None:
    values = [v for t, v in trajectory if t <= budget and v is not None]
    return max(values) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="default", help="default (8), all (34), or ids a,b")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=max(BUDGETS), help="largest budget, in R")
    parser.add_argument("--methods", default="required", help="required, all, or names a,b")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    every = bench().tasks
    tasks = {"default": every[::4][:8], "all": every}.get(args.tasks) or args.tasks.split(",")
    methods = {"required": REQUIRED, "all": REQUIRED + CANDIDATES}.get(args.methods)
    methods = methods or args.methods.split(",")
    budgets = [b for b in BUDGETS if b <= args.budget] or [args.budget]
    print(f"LCBench surrogate via {bench().backend}; {len(tasks)} tasks x {args.seeds} seeds; "
          f"budgets {budgets} x R; methods: {', '.join(methods)}")  # fmt: skip
    print(f"tasks: {', '.join(tasks)}", flush=True)

    started = time.perf_counter()
    scale = {task: task_scale(task) for task in tasks}
    unit = {task: scale[task][0] for task in tasks}
    jobs = [
        (m, t, s, unit[t] * budgets[-1]) for t in tasks for s in range(args.seeds) for m in methods
    ]
    # Longest jobs first, so the pool does not end on one straggler.
    jobs.sort(key=lambda j: "tpe" not in j[0] and "auto" not in j[0])
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(one_run, jobs))

    runs: dict[tuple[str, str, int], list] = {}
    seconds: dict[str, float] = dict.fromkeys(methods, 0.0)
    trials: dict[str, int] = dict.fromkeys(methods, 0)
    for method, task, seed, trajectory, wall in results:
        runs[method, task, seed] = trajectory
        seconds[method] += wall
        trials[method] += len(trajectory)
    regret = {m: np.zeros((len(tasks), args.seeds, len(budgets))) for m in methods}
    for i, task in enumerate(tasks):
        seen = [
            v
            for m in methods
            for s in range(args.seeds)
            for _, v in runs[m, task, s]
            if v is not None
        ]
        best, worst = max(scale[task][1], *seen), min(scale[task][2], *seen)
        for m in methods:
            for s in range(args.seeds):
                for k, b in enumerate(budgets):
                    inc = incumbent(runs[m, task, s], b * unit[task])
                    regret[m][i, s, k] = 1.0 if inc is None else (best - inc) / (best - worst)

    print("\nmean normalised regret (lower is better), by simulated budget in full runs R")
    width = max(len(m) for m in methods) + 2
    print("method".ljust(width) + "".join(f"{f'{b} R':>9}" for b in budgets) + "   trials/run")
    for m in methods:
        means = regret[m].mean(axis=(0, 1))
        row = "".join(f"{v:9.4f}" for v in means)
        print(m.ljust(width) + row + f"   {trials[m] / (len(tasks) * args.seeds):9.1f}")
    if {"auto", "tpe+hyperband", "random"} <= set(methods):
        auto = regret["auto"].mean(axis=(0, 1))
        hb = regret["tpe+hyperband"].mean(axis=(0, 1))
        rnd = regret["random"].mean(axis=(0, 1))
        ok_hb = bool(np.all(auto <= hb))
        ratio = auto[-1] / rnd[-1] if rnd[-1] > 0 else float("inf")
        print(f"\ntarget auto <= tpe+hyperband at every budget: {'met' if ok_hb else 'NOT met'}")
        print(f"target auto <= 0.5 x random at {budgets[-1]} R: auto/random = {ratio:.2f} "
              f"({'met' if ratio <= 0.5 else 'NOT met'})")  # fmt: skip
    print(
        f"\n{len(jobs)} runs in {time.perf_counter() - started:.0f} s wall; "
        f"compute per method (s): " + ", ".join(f"{m} {seconds[m]:.0f}" for m in methods)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
