"""Time to quality on piximi-mnist: `tunelab tune` against three hand-written Optuna loops.

A fixed, stratified 20 % of ``labelled/`` is set aside as the test set first; every method
tunes on the other 80 % (which tunelab's trainer splits 75/25 into training and
validation, the same split for every trial) over the same knobs (tunelab's default space)
and the same epoch cap, for the same wall-clock budget:

  tunelab         tunelab.tune_images(strategy="auto", pruner="auto"), known-good starts
  tpe             plain Optuna loop: TPESampler(seed), no early stopping
  tpe+hyperband   the same with Optuna's HyperbandPruner(min_resource=1, max_resource=epochs)
  random          plain Optuna loop: RandomSampler(seed), no early stopping

Each baseline trial is an ordinary ``tunelab.train`` run (so the only differences are the
sampler, the pruner and tunelab's starting points); it reports validation accuracy per
epoch and its value is the best validation accuracy it reached. The best trial of each
method is then scored on the test set, as is Piximi's default (SimpleCNN, Adam, 0.01,
batch 32, 10 epochs) trained on the same 80 %.

Printed per seed and as medians over seeds:
  - best validation accuracy after each checkpoint (60 s, 120 s, ...);
  - T_ref: the TPE loop's best after 4 minutes (the --reference time), and the seconds each
    method took to first reach it (">budget" when it never did);
  - ratios tunelab/tpe and tunelab/(tpe+hyperband) of those times (targets <= 1/3, <= 1/2);
  - test accuracy of each method's best trial, and of Piximi's default.

Methods run one after another, their order rotated per seed so that a busy machine does
not favour one. Threads per trial: 2 (the machine's cores), the same for every method.

    python benchmarks/time_to_quality.py [--budget 240] [--seeds 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "datasets" / "piximi-mnist" / "labelled"
METHODS = ("tunelab", "tpe", "tpe+hyperband", "random")
EPOCHS = 10  # the epoch cap of every trial (Piximi's default number of epochs)


def split_folder(source: Path, out: Path, test_fraction: float = 0.2) -> tuple[Path, Path]:
    """Copy ``source`` into ``out/trainval`` and ``out/test`` (stratified, fixed seed 0)."""
    from sklearn.model_selection import train_test_split

    files = sorted(p for p in source.rglob("*") if p.is_file())
    labels = [p.parent.name for p in files]
    rest, test = train_test_split(files, test_size=test_fraction, stratify=labels, random_state=0)
    for part, chosen in (("trainval", rest), ("test", test)):
        for path in chosen:
            target = out / part / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return out / "trainval", out / "test"


class Trajectory:
    """(seconds since start, best value so far) after every finished trial."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.points: list[tuple[float, float]] = []
        self.best = -math.inf
        self.best_run: str | None = None
        self.trials = 0

    def add(self, value: float | None, run: str | None) -> None:
        self.trials += 1
        if value is not None and math.isfinite(value) and value > self.best:
            self.best, self.best_run = value, run
            self.points.append((time.perf_counter() - self.start, value))

    def best_at(self, seconds: float) -> float | None:
        values = [v for t, v in self.points if t <= seconds]
        return max(values) if values else None

    def time_to(self, target: float) -> float | None:
        return next((t for t, v in self.points if v >= target - 1e-9), None)


def run_tunelab(data: Path, store: Path, seed: int, budget: float) -> Trajectory:
    import tunelab

    trajectory = Trajectory()
    result = tunelab.tune_images(
        data,
        tunelab.Hyperparameters(epochs=EPOCHS, seed=seed, threads=2),
        store=store,
        study_name=f"tunelab-{seed}",
        budget_seconds=budget,
    )
    # Rebuild the trajectory from the study: finish times relative to the first start.
    trials = result.study().trials
    start = min(t.datetime_start for t in trials if t.datetime_start is not None)
    finished = [t for t in trials if t.datetime_complete is not None]
    for trial in sorted(finished, key=lambda t: t.datetime_complete):
        trajectory.trials += 1
        if trial.state.name != "COMPLETE" or trial.value is None:
            continue  # like the baselines: only trials that ran to their end count
        if trial.value > trajectory.best:
            trajectory.best = trial.value
            trajectory.best_run = trial.user_attrs.get("run")
            seconds = (trial.datetime_complete - start).total_seconds()
            trajectory.points.append((seconds, trial.value))
    return trajectory


def run_optuna(data: Path, store: Path, seed: int, budget: float, method: str) -> Trajectory:
    import optuna

    import tunelab
    from tunelab.data import load_dataset, stratified_split
    from tunelab.search.space import suggest
    from tunelab.training.callbacks import Callback
    from tunelab.trials.images import default_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = default_space()
    base = tunelab.Hyperparameters(epochs=EPOCHS, seed=seed, threads=2)
    dataset = load_dataset(data, input_size=base.input_size)
    split = stratified_split(dataset.labels, base.validation_fraction, base.seed)
    if method == "random":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed)
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if method == "tpe+hyperband":
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    trajectory = Trajectory()
    deadline = trajectory.start + budget

    class Report(Callback):
        def __init__(self, trial: optuna.Trial) -> None:
            self.trial, self.best = trial, -math.inf

        def on_epoch_end(self, state: Any, record: dict[str, float]) -> None:
            accuracy = record["val_accuracy"]
            self.best = max(self.best, accuracy) if math.isfinite(accuracy) else self.best
            self.trial.report(accuracy, int(record["epoch"]))
            if time.perf_counter() > deadline or self.trial.should_prune():
                state.halt("stopped", "pruned")

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, space)
        callback = Report(trial)
        name = f"{method.replace('+', '-')}-{seed}-trial-{trial.number}"
        hp = base.replace(**params)
        run = tunelab.train(dataset, hp, store=store, name=name, callbacks=[callback],
                            split=split, plot=False)  # fmt: skip
        finished = run.summary["epochs_run"] == EPOCHS or run.summary["status"] != "stopped"
        value = callback.best if math.isfinite(callback.best) else 0.0
        if finished and time.perf_counter() <= deadline:
            trajectory.add(value, name)
            return value
        trajectory.trials += 1
        raise optuna.TrialPruned()

    while time.perf_counter() < deadline:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.optimize(objective, n_trials=1)
    return trajectory


def test_accuracy(store: Path, run: str | None, test: Path) -> float | None:
    if run is None:
        return None
    from tunelab.evaluation.evaluate import evaluate_run
    from tunelab.runs import RunStore

    return evaluate_run(RunStore(store).get(run), test).accuracy


def piximi_default(data: Path, store: Path, test: Path, seed: int) -> float:
    import tunelab

    run = tunelab.train(data, store=store, name=f"piximi-default-{seed}", seed=seed, threads=2,
                        plot=False)  # fmt: skip
    from tunelab.evaluation.evaluate import evaluate_run

    return evaluate_run(run, test).accuracy


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per method")
    parser.add_argument("--reference", type=float, default=240.0, help="T_ref time (s)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data set at {args.data}; pass --data DIR", file=sys.stderr)
        return 2
    methods = [m.strip() for m in args.methods.split(",")]
    work = Path(tempfile.mkdtemp(prefix="tunelab-ttq-"))
    trainval, test = split_folder(args.data, work / "data")
    n_test = sum(1 for p in test.rglob("*") if p.is_file())
    print(f"data: {args.data} -> {trainval} / test {n_test} images; budget {args.budget:.0f} s "
          f"per method; {args.seeds} seeds; epochs cap {EPOCHS}", flush=True)  # fmt: skip
    checkpoints = [c for c in (60, 120, 180, 240, 300, 600, 900) if c <= args.budget]
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    defaults: list[float] = []
    for seed in range(args.seeds):
        order = methods[seed % len(methods) :] + methods[: seed % len(methods)]
        store = work / f"runs-{seed}"
        for method in order:
            t0 = time.perf_counter()
            if method == "tunelab":
                trajectory = run_tunelab(trainval, store, seed, args.budget)
            else:
                trajectory = run_optuna(trainval, store, seed, args.budget, method)
            record = {
                "trajectory": trajectory,
                "test": test_accuracy(store, trajectory.best_run, test),
                "wall": time.perf_counter() - t0,
            }
            results[method].append(record)
            print(f"seed {seed} {method:14s} trials {trajectory.trials:3d}  best val "
                  f"{fmt(trajectory.best)}  test {fmt(record['test'])}  "
                  f"({record['wall']:.0f} s)", flush=True)  # fmt: skip
        defaults.append(piximi_default(trainval, store, test, seed))
        print(f"seed {seed} piximi-default  test {defaults[-1]:.3f}", flush=True)

    print("\nbest validation accuracy by wall time (median over seeds)")
    print("method".ljust(15) + "".join(f"{c:>8d}s" for c in checkpoints) + "   trials   test acc")
    for method in methods:
        cells = []
        for c in checkpoints:
            values = [r["trajectory"].best_at(c) for r in results[method]]
            known = [v for v in values if v is not None]
            cells.append(f"{fmt(statistics.median(known)) if known else '-':>9}")
        trials = statistics.median(r["trajectory"].trials for r in results[method])
        tests = [r["test"] for r in results[method] if r["test"] is not None]
        test_med = statistics.median(tests) if tests else None
        print(method.ljust(15) + "".join(cells) + f"   {trials:6.0f}   {fmt(test_med)}")
    print(f"piximi-default (Adam, 0.01, batch 32, 10 epochs, simple-cnn): test "
          f"{statistics.median(defaults):.3f}")  # fmt: skip

    if "tpe" in methods and "tunelab" in methods:
        print(
            f"\ntime to reach T_ref = the tpe loop's best after {args.reference:.0f} s (per seed)"
        )
        ratios_tpe, ratios_hb = [], []
        for seed in range(args.seeds):
            target = results["tpe"][seed]["trajectory"].best_at(args.reference)
            if target is None:
                print(f"seed {seed}: tpe finished no trial by {args.reference:.0f} s")
                continue
            times = {m: results[m][seed]["trajectory"].time_to(target) for m in methods}
            cells = "  ".join(f"{m} {fmt(t, 0) if t is not None else '>budget'}"
                              for m, t in times.items())  # fmt: skip
            print(f"seed {seed}: T_ref {target:.3f}: {cells}")
            budget = args.budget
            tl = times["tunelab"] if times["tunelab"] is not None else math.inf
            ratios_tpe.append(tl / (times["tpe"] or budget))
            if "tpe+hyperband" in times:
                ratios_hb.append(tl / (times["tpe+hyperband"] or budget))
        if ratios_tpe:
            med = statistics.median(ratios_tpe)
            print(f"median time ratio tunelab / tpe: {med:.2f} (target <= 0.33: "
                  f"{'met' if med <= 1 / 3 else 'NOT met'})")  # fmt: skip
        if ratios_hb:
            med = statistics.median(ratios_hb)
            print(f"median time ratio tunelab / tpe+hyperband: {med:.2f} (target <= 0.5: "
                  f"{'met' if med <= 0.5 else 'NOT met'}; '>budget' for hyperband counts as "
                  f"the budget)")  # fmt: skip
    if "tunelab" in methods and defaults:
        tests = [r["test"] for r in results["tunelab"] if r["test"] is not None]
        if tests:
            gain = 100 * (statistics.median(tests) - statistics.median(defaults))
            print(f"tuned test accuracy - piximi default: {gain:+.1f} points (target >= +2: "
                  f"{'met' if gain >= 2 else 'NOT met'})")  # fmt: skip
    np.set_printoptions(precision=3)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
