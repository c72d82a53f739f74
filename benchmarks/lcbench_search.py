"""tunelab ``auto`` against Optuna, SMAC3 and DEHB on the LCBench yardstick (issue 13).

LCBench (via the YAHPO Gym surrogate, see ``lcbench_surrogate.py``) predicts, for an MLP
configuration on an OpenML task, the validation accuracy and the cumulative training time
after each of 52 epochs. Every method tunes the same 7 hyperparameters on the same tasks.

The yardstick, per task:
- a *reference* of 3,000 random configurations trained fully (fixed seed,
  ``lcbench_surrogate.reference``, cached on disk after the first run);
- budget = 50 x R, R = the reference's median full-training (52-epoch) time;
- time is *simulated*: a trial costs the surrogate's cumulative time up to the last epoch
  it ran; a run stops once its trials cost the budget (trials run one after another);
- the incumbent at a moment is the best *complete* (52-epoch) trial finished by then;
- normalised regret = (reference best - incumbent) / (reference best - reference median),
  1 before the first complete trial (below 0 when a method beats the reference's best).
Reported: the mean over tasks and seeds at 2, 5, 10, 25, 50 and 100 % of the budget, one
table with every method from one run. Each (task, seed) gets its own sampler seed, the
same for every method; Optuna's samplers and tunelab's ``tune`` take it as given, so the
Optuna rows and ``auto`` draw the same first random configurations (``auto``'s first seven,
TPE's first ten) and the early fractions compare what each method does with them rather
than two random streams (SMAC3 and DEHB draw their own). The target lines give each
difference with a 90 % bootstrap interval over tasks.

Methods (``--methods`` takes names, or ``anchors`` / ``all``):
  random            Optuna RandomSampler(seed), no pruning
  tpe               Optuna TPESampler(seed) defaults, no pruning
  tpe+hyperband     Optuna TPESampler(seed) + HyperbandPruner() defaults
  random+hyperband  Optuna RandomSampler(seed) + HyperbandPruner() defaults
  smac              SMAC3 MultiFidelityFacade (random forest over every budget, Hyperband)
  dehb              DEHB (differential evolution + Hyperband)
  auto              tunelab.tune(strategy="auto", pruner="auto", max_resource=52)
  auto+portfolio    the same, trying first the warm-start portfolio chosen offline
                    leave-one-task-out (``lcbench_portfolio.py``: never from the task run),
                    its points run to their last epoch (``prune_initial_points=False``), as
                    ``tune_images`` runs its portfolio
  auto+portfolio-pruned  (not in ``all``) the same with the pruner judging the points too
Optuna objectives report each epoch and check the pruner after it, except at epoch 52
(stopping there would only relabel a finished run); tunelab's Reporter does the same.
Development candidates: ``tunelab-<strategy>+<pruner>`` (any registered names).

SMAC3 and DEHB need ConfigSpace 1.x, which yahpo-gym's pins exclude, so they run in
their own virtualenv, as one subprocess per (method, seed) over the tasks
(``lcbench_external.py``)::

    python -m venv /work/venv-smac
    /work/venv-smac/bin/pip install smac dehb onnxruntime

Its python is ``$TUNELAB_SMAC_PYTHON`` (default ``/work/venv-smac/bin/python``).

Time is simulated, so the machine's load plays no part, and every run but SMAC3's is
deterministic for its seed on one installation (SMAC3's trajectories differ from run to run
for one seed; numpy's version can flip an occasional TPE decision: see the results file).
Trajectories are kept on disk (``~/.cache/tunelab-bench/runs``, keyed by method,
task, seed, budget and the Optuna/SMAC3/DEHB/onnxruntime versions; for tunelab's methods
also a hash of tunelab's search code and of these benchmark files, so a change reruns
them) and reused by later runs with the same key; ``--fresh`` runs everything anew.

    python benchmarks/lcbench_search.py --tasks all --seeds 5 --jobs 2
    python benchmarks/lcbench_search.py --tasks every:3 --seeds 2   # a quick look

``--external-seeds K`` gives SMAC3 and DEHB fewer seeds than the rest, and ``--smac-tasks``
SMAC3 fewer tasks (it costs the most CPU: about 10 s per run against 1-3 s for TPE); the
table says each row's tasks x seeds, and the target lines compare each anchor with ours
on the (task, seed) runs both have.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lcbench_surrogate import CACHE, EPOCHS, LCBench, reference  # noqa: E402

ANCHORS = ["random", "tpe", "tpe+hyperband", "random+hyperband", "smac", "dehb"]
OURS = ["auto", "auto+portfolio"]
FRACTIONS = (0.02, 0.05, 0.10, 0.25, 0.50, 1.00)
BUDGET_R = 50  # the budget, in units of R
EXTERNAL = ("smac", "dehb")
SMAC_PYTHON = os.environ.get("TUNELAB_SMAC_PYTHON", "/work/venv-smac/bin/python")

Trajectory = list[tuple[float, float | None]]  # (cumulative cost, value if complete)
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


def tunelab_objective(params: dict[str, Any], reporter: Any, *, task: str) -> float:
    accuracy, _ = bench().curve(task, params)
    for epoch in range(1, EPOCHS + 1):
        reporter.report(epoch, float(accuracy[epoch - 1]))
    return float(accuracy[-1])


class StopAtSimulatedBudget:
    """Optuna callback: adds up each trial's simulated cost; stops past ``limit`` seconds."""

    def __init__(self, task: str, limit: float) -> None:
        self.task, self.limit, self.spent = task, limit, 0.0
        self.trajectory: Trajectory = []

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


def run_tunelab(
    task: str,
    seed: int,
    limit: float,
    strategy: str,
    pruner: str,
    portfolio: bool = False,
    prune_points: bool = True,
) -> Trajectory:
    from tunelab.search import tune

    points = None
    if portfolio:
        from lcbench_portfolio import portfolio_for

        points = portfolio_for(task)
    stop = StopAtSimulatedBudget(task, limit)
    tune(
        partial(tunelab_objective, task=task),
        lcbench_space(),
        strategy=strategy,
        pruner=pruner,
        n_trials=1_000_000,
        seed=seed,
        max_resource=EPOCHS,
        initial_points=points,
        prune_initial_points=prune_points,
        callbacks=[stop],
    )
    return stop.trajectory


def run_optuna(task: str, seed: int, limit: float, sampler: str, pruner: str) -> Trajectory:
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
    }
    # A fixed study name: HyperbandPruner picks each trial's bracket from a hash of it, so
    # a made-up name (Optuna's default) would make the Hyperband rows differ run to run.
    study = optuna.create_study(
        study_name=f"lcbench-{task}-{seed}",
        direction="maximize",
        sampler=samplers[sampler](),
        pruner=pruners[pruner](),
    )
    stop = StopAtSimulatedBudget(task, limit)
    study.optimize(objective, n_trials=1_000_000, callbacks=[stop])
    return stop.trajectory


def run_external(method: str, items: list[tuple[str, int, float, Path]]) -> None:
    """SMAC3 or DEHB in their own virtualenv (see ``lcbench_external.py``): one process
    for ``items`` = (task, sampler seed, budget, where to write the trajectory)."""
    args = [f"{task}={seed}={limit!r}={path}" for task, seed, limit, path in items]
    out = subprocess.run(
        [SMAC_PYTHON, str(HERE / "lcbench_external.py"), method, *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"{method} failed: {out.stderr.strip()[-2000:]}")


METHODS: dict[str, Callable[[str, int, float], Trajectory]] = {
    "random": partial(run_optuna, sampler="random", pruner="none"),
    "tpe": partial(run_optuna, sampler="tpe", pruner="none"),
    "tpe+hyperband": partial(run_optuna, sampler="tpe", pruner="hyperband"),
    "random+hyperband": partial(run_optuna, sampler="random", pruner="hyperband"),
    "auto": partial(run_tunelab, strategy="auto", pruner="auto"),
    "auto+portfolio": partial(
        run_tunelab, strategy="auto", pruner="auto", portfolio=True, prune_points=False
    ),
    "auto+portfolio-pruned": partial(
        run_tunelab, strategy="auto", pruner="auto", portfolio=True, prune_points=True
    ),
}


def method_runner(name: str) -> Callable[[str, int, float], Trajectory]:
    if name in METHODS:
        return METHODS[name]
    if name.startswith("tunelab-"):
        strategy, _, pruner = name.removeprefix("tunelab-").partition("+")
        return partial(run_tunelab, strategy=strategy, pruner=pruner or "none")
    raise SystemExit(f"unknown method {name!r}: use {', '.join([*METHODS, *EXTERNAL])}")


def task_seed(task: str, seed: int) -> int:
    # A seed per task and repetition: with one seed per repetition every task would start
    # from the same random configurations, and five draws would decide the small budgets.
    return (zlib.crc32(task.encode()) + 7919 * seed) % 2**31


def _versions() -> str:
    from importlib.metadata import version

    import optuna

    # "named": Optuna studies have fixed names since the Hyperband rows were made repeatable
    found = [f"optuna{optuna.__version__}", f"ort{version('onnxruntime')}", "named"]
    tools = subprocess.run(
        [SMAC_PYTHON, "-c", "from importlib.metadata import version as v; "
         "print(f'smac{v(\"smac\")}_dehb{v(\"dehb\")}')"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    found.append(tools.stdout.strip() or "no-smac")
    return "_".join(found)


def _code_hash() -> str:
    """A hash of tunelab's search code and of the LCBench benchmark files."""
    code = hashlib.sha1()
    root = HERE.parent / "src" / "tunelab" / "search"
    for path in sorted([*root.glob("*.py"), *HERE.glob("lcbench_*.py")]):
        code.update(path.name.encode() + path.read_bytes())
    return code.hexdigest()[:10]


RUNS_CACHE = CACHE / "runs"
Job = tuple[str, list[tuple[str, int, float]], str]  # method, [(task, seed, budget)], key


def _run_path(method: str, task: str, seed: int, limit: float, key: str) -> Path:
    return RUNS_CACHE / key / f"{method}-{task}-{seed}-{limit:.3f}.json"


def one_job(job: Job) -> tuple[str, dict[tuple[str, int], Trajectory]]:
    """Run (or, for an anchor, reuse) ``method`` on each (task, seed); their trajectories."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    method, items, key = job
    started = time.process_time()
    paths = {(t, s): _run_path(method, t, s, limit, key) for t, s, limit in items}
    reuse = key != "fresh"
    todo = [(t, s, limit) for t, s, limit in items if not (reuse and paths[t, s].is_file())]
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    if todo and method in EXTERNAL:
        run_external(method, [(t, task_seed(t, s), limit, paths[t, s]) for t, s, limit in todo])
    for task, seed, limit in todo if method not in EXTERNAL else ():
        rows = method_runner(method)(task, task_seed(task, seed), limit)
        tmp = paths[task, seed].with_suffix(".tmp")
        tmp.write_text(json.dumps(rows))
        tmp.replace(paths[task, seed])
        bench()._cache.clear()
    runs = {ts: [(float(t), v) for t, v in json.loads(p.read_text())] for ts, p in paths.items()}
    if todo:
        print(f"  {method}: {len(todo)} run(s) in {time.process_time() - started:.0f} cpu s",
              file=sys.stderr, flush=True)  # fmt: skip
    return method, runs


def incumbent(trajectory: Trajectory, spent: float) -> float | None:
    values = [v for t, v in trajectory if t <= spent and v is not None]
    return max(values) if values else None


def regret_table(
    runs: dict[tuple[str, str, int], Trajectory],
    refs: dict[str, dict[str, float]],
    method: str,
    tasks: list[str],
    seeds: int,
) -> np.ndarray:
    """``method``'s normalised regret, shape (tasks, seeds, fractions); NaN where not run."""
    out = np.full((len(tasks), seeds, len(FRACTIONS)), np.nan)
    for i, task in enumerate(tasks):
        ref = refs[task]
        for s in range(seeds):
            if (method, task, s) not in runs:
                continue
            for k, f in enumerate(FRACTIONS):
                inc = incumbent(runs[method, task, s], f * BUDGET_R * ref["R"])
                out[i, s, k] = (
                    1.0 if inc is None else (ref["best"] - inc) / (ref["best"] - ref["median"])
                )
    return out


def pick_tasks(spec: str, every: list[str]) -> list[str]:
    if spec == "all":
        return every
    if spec.startswith("every:"):
        return every[:: int(spec.split(":")[1])]
    return spec.split(",")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="all", help="all (34), every:N (every Nth), or ids a,b")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--external-seeds", type=int, default=None, help="seeds for smac and dehb (default --seeds)"
    )
    parser.add_argument("--smac-tasks", default=None, help="tasks for smac (default --tasks)")
    parser.add_argument("--methods", default="all", help="anchors, all, or names a,b")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--fresh", action="store_true", help="rerun everything (no cache)")
    args = parser.parse_args(argv)

    tasks = pick_tasks(args.tasks, bench().tasks)
    smac_tasks = [t for t in pick_tasks(args.smac_tasks or args.tasks, tasks) if t in tasks]
    methods = {"anchors": ANCHORS, "all": ANCHORS + OURS}.get(args.methods)
    methods = methods or args.methods.split(",")
    for m in methods:
        if m not in EXTERNAL:
            method_runner(m)
    ext_seeds = args.seeds if args.external_seeds is None else args.external_seeds
    n_seeds = {m: ext_seeds if m in EXTERNAL else args.seeds for m in methods}
    task_set = {m: smac_tasks if m == "smac" else tasks for m in methods}
    print(f"LCBench surrogate via {bench().backend}; {len(tasks)} tasks x {args.seeds} seeds "
          f"(smac: {len(smac_tasks)} tasks x {ext_seeds} seeds, dehb: {ext_seeds} seeds); "
          f"budget {BUDGET_R} R per task; methods: {', '.join(methods)}")  # fmt: skip
    print(f"tasks: {', '.join(tasks)}")
    if smac_tasks != tasks:
        print(f"smac tasks: {', '.join(smac_tasks)}")
    sys.stdout.flush()

    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        refs = dict(zip(tasks, pool.map(_reference, tasks), strict=True))
        key = "fresh" if args.fresh else _versions()
        ours_key = "fresh" if args.fresh else f"{key}_{_code_hash()}"
        # Seed by seed (so a stopped run leaves whole seeds behind in the cache); SMAC3
        # and DEHB as one process per seed over every task, the others a job per run.
        jobs: list[Job] = []
        for s in range(max(n_seeds.values())):
            for m in methods:
                items = [(t, s, BUDGET_R * refs[t]["R"]) for t in task_set[m] if s < n_seeds[m]]
                if m in EXTERNAL and items:
                    jobs.append((m, items, key))
                else:
                    k = key if m in ANCHORS else ours_key
                    jobs.extend((m, [item], k) for item in items)
        results = list(pool.map(one_job, jobs))

    runs: dict[tuple[str, str, int], Trajectory] = {}
    trials: dict[str, int] = dict.fromkeys(methods, 0)
    for method, by_run in results:
        for (task, s), trajectory in by_run.items():
            runs[method, task, s] = trajectory
            trials[method] += len(trajectory)
    seeds = max(n_seeds.values())
    regret = {m: regret_table(runs, refs, m, tasks, seeds) for m in methods}
    print_table(regret, methods, n_seeds, task_set, trials)
    print(f"\n{len(jobs)} jobs in {time.perf_counter() - started:.0f} s wall")
    return 0


def print_table(
    regret: dict[str, np.ndarray],
    methods: list[str],
    n_seeds: dict[str, int],
    task_set: dict[str, list[str]],
    trials: dict[str, int],
) -> None:
    print("\nmean normalised regret (lower is better) by fraction of the budget "
          f"({BUDGET_R} R), over each method's tasks x seeds; [spread] = 10th-90th percentile "
          "over seeds of the mean over tasks")  # fmt: skip
    width = max(len(m) for m in [*methods, "method"]) + 2
    head = "".join(f"{f'{f:.0%}':>18}" for f in FRACTIONS)
    print("method".ljust(width) + "tasks x seeds" + head + "   trials/run")
    for m in methods:
        means = np.nanmean(regret[m], axis=(0, 1))
        per_seed = np.nanmean(regret[m][:, : n_seeds[m]], axis=0)  # (seeds, fractions)
        lo, hi = np.percentile(per_seed, 10, axis=0), np.percentile(per_seed, 90, axis=0)
        row = "".join(f"{v:7.3f} [{a:.2f},{b:.2f}] " for v, a, b in zip(means, lo, hi, strict=True))
        n = int((~np.isnan(regret[m][:, :, 0])).sum())
        label = f"{len(task_set[m])} x {n_seeds[m]}"
        print(m.ljust(width) + f"{label:>13}" + row + f"  {trials[m] / max(1, n):9.1f}")

    anchors = [m for m in methods if m in ANCHORS]
    for ours in (m for m in methods if m not in ANCHORS):
        if not anchors:
            break
        print(f"\ntarget {ours} <= every anchor at every fraction, each compared on the "
              "(task, seed) runs both have (ours - anchor [90 % bootstrap interval over "
              "tasks]; at or below the anchor on how many of those runs):")  # fmt: skip
        for k, f in enumerate(FRACTIONS):
            parts, met = [], True
            for a in anchors:
                diff = regret[ours][:, :, k] - regret[a][:, :, k]  # NaN where either is
                both = ~np.isnan(diff)
                mean = float(diff[both].mean())
                met &= mean <= 0
                lo, hi = paired_interval(diff)
                wins = int((diff[both] <= 0).sum())
                parts.append(f"{a} {mean:+.3f} [{lo:+.2f},{hi:+.2f}] ({wins}/{both.sum()})")
            print(f"  {f:4.0%} {'met    ' if met else 'NOT met'}  " + ", ".join(parts))


def paired_interval(diff: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """90 % bootstrap interval of the mean of ``diff`` (tasks x seeds, NaN where not run),
    resampling whole tasks: a task's seeds share its landscape, so they are not independent."""
    rows = [row[~np.isnan(row)] for row in diff if (~np.isnan(row)).any()]
    sums = np.array([row.sum() for row in rows])
    counts = np.array([len(row) for row in rows])
    pick = np.random.default_rng(0).integers(0, len(rows), size=(draws, len(rows)))
    means = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    return float(np.percentile(means, 5)), float(np.percentile(means, 95))


def _reference(task: str) -> dict[str, float]:
    return reference(bench(), task)


if __name__ == "__main__":
    raise SystemExit(main())
