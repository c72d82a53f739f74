"""Time to quality on real images: test accuracy of each tuner's incumbent by CPU time.

Two data sets, each split first into a fixed, stratified 40 % test set (seed 0) and the
rest, on which every method tunes (tunelab's trainer splits that 75/25 into training and
validation, the same split for every trial of a seed):

  piximi-mnist    ../shared/datasets/piximi-mnist/labelled (942 digits, 28x28, 10 classes)
  cells           synthetic two-channel microscopy crops built here, deterministically
                  (:func:`make_cells`): 4 classes told apart by shape *and* by the nucleus
                  channel, images of varying size (resized to the common 28x28), noisy

Methods, over the same knobs (tunelab's default space) and the same epoch cap:

  tunelab         tunelab.tune_images(strategy="auto", pruner="auto"), as shipped, except
                  that its warm-start portfolio is the one image_portfolio.py chose
                  without the data set being scored (``image-portfolio.json`` in --cache)
  tpe             plain Optuna loop: TPESampler(seed), no early stopping
  tpe+hyperband   the same with HyperbandPruner(min_resource=1, max_resource=epochs)
  random          plain Optuna loop: RandomSampler(seed), no early stopping
  piximi-default  one training run with Piximi's defaults (simple-cnn, Adam 0.01, batch 32)

The clock is each method's own process CPU time (``time.process_time()``; one PyTorch
thread, OMP_NUM_THREADS=1, no loader processes): seconds on one dedicated core, so the
machine's load does not decide. A method stops at the first trial end past ``--budget``
CPU seconds (an Optuna callback calling ``study.stop()``; tunelab gets it through
``tune_images(callbacks=...)`` with a huge ``n_trials`` and no wall budget, which
``auto`` only uses as a deadline). Every trial records its CPU time at finish, value,
params and run; the *incumbent* at time t is the best validation value among trials
complete by t, and its kept weights (every trial keeps them) are scored on the test set.
Printed: median [min-max] over seeds of that test accuracy at budget/8, /4, /2 and 1
(30, 60, 120, 240 s), with the test set's n.

Per-trial overhead: a timing hook in the benchmark process (wrapping the trainer loop's
``train_step`` and ``evaluate``) counts the CPU time spent in forward/backward/optimiser
steps and validation; a trial's overhead is its CPU time (from the previous trial's end)
minus that. Reported as the median per trial, and as a ratio to the bare Optuna loop
(the ``tpe`` method: the same trainer with nothing around it but Optuna).

Jobs (dataset, seed, method) run seed-major with the method order rotated per seed, on
``--procs`` spawned worker processes; each job's result is cached as JSON under
``--cache``, so a rerun resumes and ``--report`` prints the tables from whatever finished.

    python benchmarks/time_to_quality.py [--budget 240] [--seeds 5] [--procs 2] [--report]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
PIXIMI = HERE.parent.parent / "shared" / "datasets" / "piximi-mnist" / "labelled"
DATASETS = ("piximi-mnist", "cells")
SEARCHERS = ("tunelab", "tpe", "tpe+hyperband", "random")
METHODS = (*SEARCHERS, "piximi-default")
#: Report rows: tunelab's jobs once as tune's answer (its ensemble) and once by best trial.
ROWS = ("tunelab+ensemble", *SEARCHERS)
ANCHORS = ("tpe", "tpe+hyperband", "random")
EPOCHS = 10  # the epoch cap of every trial (Piximi's default number of epochs)
TEST_FRACTION = 0.4
CELL_CLASSES = ("round", "elongated", "two-nuclei", "budding")


# ---- data ---------------------------------------------------------------------------------


def make_cells(root: Path, count: int = 940, seed: int = 0) -> Path:
    """Write ``root/<class>/cellNNNN.tif``: two-channel (cytoplasm, nucleus) synthetic cells.

    Shape alone confuses round with two-nuclei, the nucleus alone confuses round with
    elongated and budding; the shape ranges overlap, the cells sit at random places and
    angles, and every other image has a random size between 20 and 44 pixels (the rest
    28x28, the size the loader resizes all to). Deterministic for a given ``seed``.
    """
    import tifffile

    rng = np.random.default_rng(seed)
    labels = np.arange(count) % len(CELL_CLASSES)
    rng.shuffle(labels)
    for i, k in enumerate(labels):
        size = 28 if i % 2 == 0 else int(rng.integers(20, 45))
        s = size / 28  # shapes scale with the image
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        cy, cx = rng.uniform(10, 18, 2) * s
        r = rng.uniform(4.0, 6.0) * s
        angle = rng.uniform(0, math.pi)
        ca, sa = math.cos(angle), math.sin(angle)
        u = (xx - cx) * ca + (yy - cy) * sa
        v = -(xx - cx) * sa + (yy - cy) * ca
        e = rng.uniform(1.0, 1.2) if k != 1 else rng.uniform(1.45, 1.9)
        body = (u / (r * e)) ** 2 + (v / (r / e if k == 1 else r)) ** 2 <= 1
        nuclei = [(0.0, 0.0)]
        if k == 2:
            d = rng.uniform(0.5, 0.65) * r
            nuclei = [(-d, 0.0), (d, 0.0)]
        if k == 3:  # a bud on one side of the mother cell
            d = rng.uniform(0.9, 1.25) * r
            body = body | ((u - d) ** 2 + v**2 <= (rng.uniform(0.55, 0.75) * r) ** 2)
        nr = rng.uniform(0.3, 0.4) * r
        nucleus = np.zeros_like(body)
        for du, dv in nuclei:
            jitter = rng.normal(0, 0.08 * r, 2)
            nucleus |= (u - du - jitter[0]) ** 2 + (v - dv - jitter[1]) ** 2 <= nr**2
        image = rng.normal(0.2, 0.06, (2, size, size))
        image[0] += body * rng.uniform(0.4, 0.8)
        image[1] += nucleus * rng.uniform(0.4, 0.8) + body * rng.uniform(0.0, 0.15)
        folder = root / CELL_CLASSES[k]
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)
        tifffile.imwrite(folder / f"cell{i:04d}.tif", pixels, photometric="minisblack")
    return root


def split_folder(source: Path, out: Path) -> tuple[Path, Path]:
    """Copy ``source`` into ``out/trainval`` and ``out/test`` (stratified, fixed seed 0)."""
    from sklearn.model_selection import train_test_split

    files = sorted(p for p in source.rglob("*") if p.is_file())
    labels = [p.parent.name for p in files]
    rest, test = train_test_split(files, test_size=TEST_FRACTION, stratify=labels, random_state=0)
    for part, chosen in (("trainval", rest), ("test", test)):
        for path in chosen:
            target = out / part / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return out / "trainval", out / "test"


def prepare(name: str, cache: Path) -> tuple[Path, Path]:
    """The data set's (trainval, test) folders under ``cache/data``, built once."""
    out = cache / "data" / name
    if (out / "done").exists():
        return out / "trainval", out / "test"
    shutil.rmtree(out, ignore_errors=True)  # a half-built one
    if name == "piximi-mnist":
        if not PIXIMI.is_dir():
            raise SystemExit(f"no data set at {PIXIMI}; it is needed for piximi-mnist")
        source = PIXIMI
    else:
        source = cache / "data" / "cells-all"
        shutil.rmtree(source, ignore_errors=True)
        make_cells(source)
    split_folder(source, out)
    (out / "done").write_text("")
    return out / "trainval", out / "test"


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


# ---- the clock and the forward/backward timer ---------------------------------------------


class Compute:
    """CPU seconds spent inside the trainer's train_step and evaluate (this process)."""

    seconds = 0.0

    @classmethod
    def install(cls) -> None:
        from tunelab.training import loop

        def timed(function: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.process_time()
                try:
                    return function(*args, **kwargs)
                finally:
                    cls.seconds += time.process_time() - start

            return wrapper

        loop.train_step = timed(loop.train_step)  # type: ignore[assignment]
        loop.evaluate = timed(loop.evaluate)  # type: ignore[assignment]


class Recorder:
    """Optuna callback: one record per finished trial; stops the study past the budget."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.start = time.process_time()
        self.last_cpu = 0.0
        self.last_compute = Compute.seconds
        self.trials: list[dict[str, Any]] = []

    def cpu(self) -> float:
        return time.process_time() - self.start

    def __call__(self, study: Any, trial: Any) -> None:
        now, compute = self.cpu(), Compute.seconds
        value = trial.value if trial.state.name == "COMPLETE" else None
        self.trials.append(
            {
                "number": trial.number,
                "cpu": now,
                "trial_cpu": now - self.last_cpu,
                "compute_cpu": compute - self.last_compute,
                "state": trial.state.name,
                "value": value if value is not None and math.isfinite(value) else None,
                "params": trial.params,
                "run": trial.user_attrs.get("run"),
            }
        )
        self.last_cpu, self.last_compute = now, compute
        if now >= self.budget:
            study.stop()


# ---- methods --------------------------------------------------------------------------------


def run_tunelab(
    data: Path, store: Path, seed: int, budget: float, portfolio: list[dict[str, Any]]
) -> Recorder:
    import tunelab

    recorder = Recorder(budget)
    tunelab.tune_images(
        data,
        tunelab.Hyperparameters(epochs=EPOCHS, seed=seed, threads=1),
        store=store,
        study_name=f"tunelab-{seed}",
        n_trials=1_000_000,  # the callback stops it; auto's startup count is then its usual
        keep_weights=None,  # every trial keeps its weights, so any incumbent can be scored
        callbacks=[recorder],
        progress=False,
        portfolio=portfolio,  # chosen without this data set (image_portfolio.py)
    )
    return recorder


def run_optuna(data: Path, store: Path, seed: int, budget: float, method: str) -> Recorder:
    import optuna

    import tunelab
    from tunelab.data import load_dataset
    from tunelab.search.space import suggest
    from tunelab.training.callbacks import Callback
    from tunelab.training.trainer import train
    from tunelab.trials.images import default_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    recorder = Recorder(budget)
    space = default_space()
    space.pop("freeze_epochs", None)  # transfer-only: tunelab drops it without init_from too
    space.pop("backbone_lr_factor", None)
    base = tunelab.Hyperparameters(epochs=EPOCHS, seed=seed, threads=1)
    dataset = load_dataset(data, input_size=base.input_size)
    split = dataset.split(base.validation_fraction, base.validation_seed, False)[:2]
    if method == "random":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed)
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if method == "tpe+hyperband":
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)

    class Report(Callback):
        def __init__(self, trial: optuna.Trial) -> None:
            self.trial, self.pruned = trial, False

        def on_epoch_end(self, state: Any, record: dict[str, float]) -> None:
            self.trial.report(record["val_accuracy"], int(record["epoch"]))
            if recorder.cpu() > budget or self.trial.should_prune():
                self.pruned = True  # past the budget it would not count anyway
                state.halt("pruned", "pruned")

    def objective(trial: optuna.Trial) -> float:
        hp = base.replace(**suggest(trial, space), split_seed=base.validation_seed)
        report = Report(trial)
        name = f"{method.replace('+', '-')}-{seed}-trial-{trial.number:04d}"
        run = train(dataset, hp, store=store, name=name, callbacks=[report], split=split)
        trial.set_user_attr("run", run.name)
        if report.pruned or run.status == "diverged":
            raise optuna.TrialPruned()
        value = run.summary.get("final_val_accuracy")  # of the weights the run saved
        return float(value) if value is not None else float("nan")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=1_000_000, callbacks=[recorder], catch=(Exception,))
    return recorder


def incumbents(trials: list[dict[str, Any]], budget: float) -> list[dict[str, Any]]:
    """The trials that were ever the incumbent (strictly better than all before), in order."""
    chosen: list[dict[str, Any]] = []
    best = -math.inf
    for trial in sorted(trials, key=lambda t: t["cpu"]):
        if trial["cpu"] <= budget and trial["value"] is not None and trial["value"] > best:
            best = trial["value"]
            chosen.append(trial)
    return chosen


def test_accuracy(store: Path, run: str, test: Path) -> float:
    from tunelab.evaluation.evaluate import evaluate_run
    from tunelab.runs import RunStore

    return float(evaluate_run(RunStore(store).get(run), test).accuracy)


def final_val_loss(store: Path, run: str) -> float | None:
    from tunelab.runs import RunStore

    value = RunStore(store).get(run).summary.get("final_val_loss")
    return float(value) if value is not None else None


def ensembles(
    store: Path, seed: int, trials: list[dict[str, Any]], budget: float, test: Path
) -> dict[str, list[float]]:
    """tunelab's ensemble (tunelab.trials.ensemble, its default size) of the trials complete
    by each checkpoint: ``{checkpoint: [test accuracy, CPU-s to choose and write it]}``.

    Built after the clock stopped, from the same kept weights, as ``tune`` builds it at the
    end of a tune of that length; its CPU cost is recorded, not charged to the clock."""
    import optuna

    from tunelab.search.results import TrialRecord
    from tunelab.trials.ensemble import build_ensemble

    name = f"tunelab-{seed}"
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{store}/studies/{name}.db")
    frozen = {t.number: t for t in study.get_trials(deepcopy=False)}
    out: dict[str, list[float]] = {}
    for c in checkpoints_of(budget):
        done = [frozen[t["number"]] for t in trials if t["cpu"] <= c and t["number"] in frozen]
        start = time.process_time()
        run = build_ensemble([TrialRecord.from_frozen(t) for t in done], store, f"{name}-at{c:g}")
        cost = time.process_time() - start
        if run is not None:
            out[f"{c:g}"] = [test_accuracy(store, run.name, test), cost]
    return out


def save_json(path: Path, data: dict[str, Any]) -> None:
    """Write a job's result whole or not at all (a killed job leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(data))
    path.with_suffix(".tmp").rename(path)


def checkpoints_of(budget: float) -> list[float]:
    return [budget / 8, budget / 4, budget / 2, budget]


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One (dataset, seed, method) in a fresh process; the result is also written to disk."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    # Every module any method needs is imported before the clocks start, the same for all.
    import optuna.storages  # noqa: F401
    import sqlalchemy.orm  # noqa: F401

    import tunelab.evaluation.evaluate  # noqa: F401
    import tunelab.search.engine  # noqa: F401
    import tunelab.trials.images  # noqa: F401
    from tunelab.diagnosis import diagnose  # noqa: F401
    from tunelab.training import trainer  # noqa: F401

    Compute.install()
    trainval, test = Path(job["trainval"]), Path(job["test"])
    store = Path(tempfile.mkdtemp(prefix="tunelab-ttq-"))
    wall = time.perf_counter()
    try:
        seed, method, budget = job["seed"], job["method"], job["budget"]
        result: dict[str, Any] = {**job, "n_test": count_files(test)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "piximi-default":
                import tunelab

                start = time.process_time()
                run = tunelab.train(trainval, store=store, name=f"piximi-default-{seed}",
                                    seed=seed, threads=1, plot=False)  # fmt: skip
                result["cpu"] = time.process_time() - start
                result["test_accuracy"] = test_accuracy(store, run.name, test)
            else:
                if method == "tunelab":
                    recorder = run_tunelab(trainval, store, seed, budget, job["portfolio"])
                else:
                    recorder = run_optuna(trainval, store, seed, budget, method)
                result["cpu"] = recorder.cpu()
                result["trials"] = recorder.trials
                if method == "tunelab":
                    result["ensembles"] = ensembles(store, seed, recorder.trials, budget, test)
                result["tests"] = {
                    t["run"]: test_accuracy(store, t["run"], test)
                    for t in incumbents(recorder.trials, budget)
                }
                # Every complete trial's test accuracy and validation loss (after the clock
                # stopped), so that rules for picking the best trial can be compared offline.
                result["scored"] = {
                    t["run"]: [
                        result["tests"].get(t["run"]) or test_accuracy(store, t["run"], test),
                        final_val_loss(store, t["run"]),
                    ]
                    for t in recorder.trials
                    if t["value"] is not None and t["cpu"] <= budget
                }
        result["wall"] = time.perf_counter() - wall
        save_json(Path(job["path"]), result)
        return result
    finally:
        shutil.rmtree(store, ignore_errors=True)


# ---- the report ------------------------------------------------------------------------------


def at(result: dict[str, Any], seconds: float) -> float:
    """Test accuracy of the incumbent at ``seconds`` CPU; 0 when no trial was complete.

    For ``tunelab+ensemble`` rows: that of the ensemble, where there was one (two or more
    complete trials), else of the incumbent, which is then what tune gives."""
    if result.get("row") == "tunelab+ensemble":
        built = result["ensembles"].get(f"{seconds:g}")
        if built is not None:
            return float(built[0])
    chosen = incumbents(result["trials"], seconds)
    return result["tests"][chosen[-1]["run"]] if chosen else 0.0


def with_ensemble_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each tunelab job once more as a ``tunelab+ensemble`` row (what tune gives now)."""
    extra = [
        {**r, "method": "tunelab+ensemble", "row": "tunelab+ensemble"}
        for r in results
        if r["method"] == "tunelab" and "ensembles" in r
    ]
    return results + extra


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def report(results: list[dict[str, Any]], budget: float, seeds: int) -> list[str]:
    checkpoints = checkpoints_of(budget)
    results = with_ensemble_rows(results)
    lines: list[str] = []
    overheads: dict[tuple[str, str], list[dict[str, float]]] = {}
    for name in DATASETS:
        mine = [r for r in results if r["dataset"] == name]
        if not mine:
            continue
        done = {m: sorted(r["seed"] for r in mine if r["method"] == m) for m in METHODS}
        complete = sorted(set.intersection(*(set(v) for v in done.values() if v)))
        n_test = mine[0]["n_test"]
        lines.append("")
        lines.append(
            f"{name}: test set {n_test} images (stratified {TEST_FRACTION:.0%}, fixed); "
            f"seeds with every method done: {len(complete)} of {seeds} ({complete})"
        )
        lines.append(
            "test accuracy of the incumbent (best validation so far) at CPU seconds: "
            "median [min-max] over seeds; no complete trial yet counts 0"
        )
        header = "method".ljust(17) + "".join(f"{c:>8.0f} s".rjust(22) for c in checkpoints)
        lines.append(header + "   seeds  trials")
        medians: dict[str, list[float]] = {}
        for method in ROWS:
            rows = [r for r in mine if r["method"] == method and r["seed"] in complete]
            if not rows:
                continue
            cells, medians[method] = [], []
            for c in checkpoints:
                values = [at(r, c) for r in rows]
                medians[method].append(statistics.median(values))
                cells.append(spread(values).rjust(22))
            trials = statistics.median(
                sum(1 for t in r["trials"] if t["cpu"] <= budget) for r in rows
            )
            lines.append(method.ljust(17) + "".join(cells) + f"   {len(rows):5d}  {trials:6.0f}")
            if method not in SEARCHERS:
                continue  # the same jobs as tunelab's
            overheads[(name, method)] = [
                {
                    "trial": statistics.median(t["trial_cpu"] for t in r["trials"]),
                    "compute": statistics.median(t["compute_cpu"] for t in r["trials"]),
                    "overhead": statistics.median(
                        t["trial_cpu"] - t["compute_cpu"] for t in r["trials"]
                    ),
                }
                for r in rows
                if r["trials"]
            ]
        defaults = [
            r["test_accuracy"]
            for r in mine
            if r["method"] == "piximi-default" and r["seed"] in complete
        ]
        if defaults:
            cpu = statistics.median(r["cpu"] for r in mine if r["method"] == "piximi-default")
            lines.append(
                f"piximi-default (simple-cnn, Adam 0.01, batch 32, {EPOCHS} epochs, one run of "
                f"{cpu:.0f} CPU-s): test {spread(defaults)}"
            )
        for who in ("tunelab+ensemble", "tunelab"):
            lines.extend(targets(medians, defaults, checkpoints, who))
    lines.append("")
    lines.append(
        "per-trial CPU time (s; medians per trial, then over seeds): whole trial (from the "
        "previous trial's end), in train_step+evaluate, and the rest (overhead)"
    )
    lines.append("dataset        method          trial  fwd/bwd/val  overhead  overhead / tpe's")
    for (name, method), rows in overheads.items():
        if not rows:
            continue
        med = {k: statistics.median(r[k] for r in rows) for k in ("trial", "compute", "overhead")}
        bare = overheads.get((name, "tpe"))
        ratio = "-"
        if bare:
            base = statistics.median(r["overhead"] for r in bare)
            ratio = f"{med['overhead'] / base:.2f}x" if base > 0 else "-"
        lines.append(
            f"{name:14s} {method:14s} {med['trial']:6.2f}  {med['compute']:11.2f}  "
            f"{med['overhead']:8.3f}  {ratio:>8s}"
        )
    lines.append("")
    lines.append(
        "per seed (test accuracy at "
        + ", ".join(f"{c:.0f}" for c in checkpoints)
        + " CPU-s; trials within the budget), so that later runs can be pooled with these"
    )
    for r in sorted(results, key=lambda r: (r["dataset"], r["method"], r["seed"])):
        if r["method"] in ROWS:
            values = " ".join(f"{at(r, c):.3f}" for c in checkpoints)
            n = sum(1 for t in r["trials"] if t["cpu"] <= budget)
            lines.append(f"  {r['dataset']:13s} {r['method']:16s} seed {r['seed']}  {values}  {n}")
        else:
            lines.append(
                f"  {r['dataset']:13s} {r['method']:16s} seed {r['seed']}  {r['test_accuracy']:.3f}"
            )
    if any("scored" in r for r in results):
        lines.extend(selection_rules(results, checkpoints))
    walls = [r["wall"] / r["cpu"] for r in results if r.get("cpu")]
    if walls:
        lines.append(
            f"\nload: a job's wall time / its CPU time, median {statistics.median(walls):.2f} "
            f"[{min(walls):.2f}-{max(walls):.2f}] over {len(walls)} jobs (includes test scoring)"
        )
    return lines


def _pick(trials: list[dict[str, Any]], scored: dict[str, list[Any]], rule: str, n_val: int):
    """The trial ``rule`` calls best among ``trials`` (complete, all scored); None if none."""
    if not trials:
        return None
    loss = {t["run"]: scored[t["run"]][1] for t in trials}

    def lower_loss(t: dict[str, Any]) -> float:
        value = loss[t["run"]]
        return value if value is not None and math.isfinite(value) else math.inf

    if rule == "lowest val loss":
        return min(trials, key=lower_loss)
    best = max(t["value"] for t in trials)
    if rule == "max val, ties by loss":
        return min((t for t in trials if t["value"] == best), key=lower_loss)
    if rule == "within 1 SE, lowest loss":
        se = math.sqrt(max(best * (1 - best), 1e-12) / n_val)
        return min((t for t in trials if t["value"] >= best - se), key=lower_loss)
    return next(t for t in sorted(trials, key=lambda t: t["cpu"]) if t["value"] == best)


RULES = ("max val", "max val, ties by loss", "within 1 SE, lowest loss", "lowest val loss")


def selection_rules(results: list[dict[str, Any]], checkpoints: list[float]) -> list[str]:
    """Test accuracy at each checkpoint if the best trial were picked by each rule, over
    the jobs that scored every trial (the search itself is the same: a rule only changes
    which of the finished trials is reported as best)."""
    from tunelab import Hyperparameters

    fraction = Hyperparameters().validation_fraction  # every method's validation split
    lines = ["", "best-trial rules, offline (jobs that scored every complete trial): median "
             "test accuracy of the trial each rule picks, at " + ", ".join(
                 f"{c:.0f}" for c in checkpoints) + " CPU-s"]  # fmt: skip
    for name in DATASETS:
        for method in SEARCHERS:
            rows = [r for r in results if r["dataset"] == name and r["method"] == method
                    and "scored" in r]  # fmt: skip
            if not rows:
                continue
            seeds = sorted(r["seed"] for r in rows)
            for rule in RULES:
                cells = []
                for c in checkpoints:
                    values = []
                    for r in rows:
                        done = [t for t in r["trials"] if t["value"] is not None
                                and t["cpu"] <= c and t["run"] in r["scored"]]  # fmt: skip
                        n_val = max(1, round(fraction * count_files(Path(r["trainval"]))))
                        chosen = _pick(done, r["scored"], rule, n_val)
                        values.append(r["scored"][chosen["run"]][0] if chosen else 0.0)
                    cells.append(f"{statistics.median(values):.3f}")
                lines.append(f"  {name:13s} {method:14s} {rule:26s} {' '.join(cells)}"
                             f"   seeds {seeds}")  # fmt: skip
    return lines


def targets(
    medians: dict[str, list[float]], defaults: list[float], checkpoints: list[float], who: str
) -> list[str]:
    if who not in medians:
        return []
    mine = medians[who]
    lines = []
    anchors = [a for a in ANCHORS if a in medians]
    worse = [
        f"{a} at {checkpoints[i]:.0f} s"
        for a in anchors
        for i, value in enumerate(medians[a])
        if mine[i] < value
    ]
    verdict = "met" if not worse else "NOT met (below " + ", ".join(worse) + ")"
    lines.append(f"target: {who} >= every anchor ({', '.join(anchors)}) at every budget: "
                 f"{verdict}")  # fmt: skip
    if "tpe" in medians:
        ok = mine[1] >= medians["tpe"][-1]
        lines.append(
            f"target: {who} at {checkpoints[1]:.0f} s ({mine[1]:.3f}) >= tpe at "
            f"{checkpoints[-1]:.0f} s ({medians['tpe'][-1]:.3f}): {'met' if ok else 'NOT met'}"
        )
    if defaults:
        gain = 100 * (mine[-1] - statistics.median(defaults))
        lines.append(f"target: {who} at {checkpoints[-1]:.0f} s >= piximi-default + 2 points: "
                     f"{gain:+.1f} points, {'met' if gain >= 2 - 1e-9 else 'NOT met'}")  # fmt: skip
    return lines


# ---- main ------------------------------------------------------------------------------------


def jobs_for(
    args: argparse.Namespace, folders: dict[str, tuple[Path, Path]]
) -> list[dict[str, Any]]:
    jobs = []
    held_out: dict[str, Any] = {}
    if "tunelab" in args.methods:
        held_out = json.loads((args.cache / "image-portfolio.json").read_text())["held_out"]
    for seed in range(args.seeds):
        for name in args.datasets:
            shift = seed % len(args.methods)
            for method in args.methods[shift:] + args.methods[:shift]:
                trainval, test = folders[name]
                path = args.cache / f"b{args.budget:g}" / name / f"{seed}-{method}.json"
                jobs.append({"dataset": name, "seed": seed, "method": method,
                             "budget": args.budget, "trainval": str(trainval),
                             "test": str(test), "path": str(path)})  # fmt: skip
                if method == "tunelab":  # its warm start, chosen without this data set
                    jobs[-1]["portfolio"] = held_out[name]
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=240.0, help="CPU seconds per method")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--procs", type=int, default=2, help="jobs run at once")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--cache", type=Path, default=HERE / "ttq-cache")
    parser.add_argument("--report", action="store_true", help="only print what is cached")
    args = parser.parse_args(argv)
    args.datasets = [d.strip() for d in args.datasets.split(",")]
    args.methods = [m.strip() for m in args.methods.split(",")]
    for given, allowed in ((args.datasets, DATASETS), (args.methods, METHODS)):
        if bad := [g for g in given if g not in allowed]:
            print(f"unknown {bad}; allowed: {', '.join(allowed)}", file=sys.stderr)
            return 2
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the spawned workers
    os.environ["MKL_NUM_THREADS"] = "1"
    folders = {name: prepare(name, args.cache) for name in args.datasets}
    if "tunelab" in args.methods and not (args.cache / "image-portfolio.json").is_file():
        print(f"no {args.cache / 'image-portfolio.json'}: tunelab starts from a portfolio "
              "chosen without the data set it is scored on; run benchmarks/image_portfolio.py "
              f"--cache {args.cache} first", file=sys.stderr)  # fmt: skip
        return 2
    jobs = jobs_for(args, folders)
    results = [json.loads(Path(j["path"]).read_text()) for j in jobs if Path(j["path"]).exists()]
    todo = [j for j in jobs if not Path(j["path"]).exists()]
    print(f"budget {args.budget:g} CPU-s per method, {args.seeds} seeds, datasets "
          f"{', '.join(args.datasets)}; {len(results)} of {len(jobs)} jobs cached",
          flush=True)  # fmt: skip
    if todo and not args.report:
        context = get_context("spawn")
        with ProcessPoolExecutor(args.procs, mp_context=context, max_tasks_per_child=1) as pool:
            futures = {pool.submit(run_job, job): job for job in todo}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 - one failed job must not stop the rest
                    print(f"{job['dataset']} seed {job['seed']} {job['method']}: failed: {err}",
                          flush=True)  # fmt: skip
                    continue
                results.append(result)
                trials = len(result.get("trials", []))
                print(f"{time.strftime('%H:%M:%S')} {job['dataset']} seed {job['seed']} "
                      f"{job['method']}: {result['cpu']:.0f} CPU-s, {result['wall']:.0f} s wall, "
                      f"{trials} trials", flush=True)  # fmt: skip
    for line in report(results, args.budget, args.seeds):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
