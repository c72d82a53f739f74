"""A warm-start portfolio for tuning image classifiers, chosen offline, leave-one-data-set-out.

The image-side counterpart of ``lcbench_portfolio.py``. A pool of configurations over
tunelab's default search space (the two hand-picked starts tune used before, Piximi's
defaults, and random draws with their own seed) is trained fully (10 epochs, one thread)
on every data set of a collection:

  piximi-mnist    ../shared/datasets/piximi-mnist/labelled (time_to_quality's split)
  cells           time_to_quality's synthetic two-channel cells (its split)
  digits          scikit-learn's 8x8 digits, written as PNG files (1,797 images)
  shapes          synthetic RGB shapes built here (:func:`make_shapes`): 5 classes told
                  apart by outline only, random colours, sizes, places and angles

Each data set is split like time_to_quality's: a fixed stratified 40 % test set and the rest,
which tunelab splits 75/25 into training and validation. A configuration's quality on a data
set is its *test* accuracy; its cost is the CPU seconds of its training run, in units of R,
that data set's median cost over the pool (as lcbench_portfolio.py, whose horizons these
are). For a held-out data set the portfolio is chosen from the others only: the order of 5
finalists with the lowest mean normalised regret (``(best - accuracy) / (best - median)``
over the pool) at 1, 2.5, 5 and 10 R, when they run one after another; every order of the 8
finalists is tried (a greedy choice put a 2.4 R setting first and left 1 R empty). So a
configuration is worth adding when it is good where the others are not and cheap enough to
finish early.

    python benchmarks/image_portfolio.py [--pool 48] [--procs 2]   # trains what is missing
    python benchmarks/image_portfolio.py --report                   # only prints

Writes ``image-portfolio.json`` beside its cache: the portfolio for every held-out data set
(``time_to_quality.py`` reads it) and the one chosen on all of them (shipped as
``tunelab.trials.portfolio.PORTFOLIO``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from time_to_quality import EPOCHS, count_files, prepare, save_json, split_folder  # noqa: E402

DATASETS = ("piximi-mnist", "cells", "digits", "shapes")
POOL_SEED = 2026
SIZE = 5  # configurations in a portfolio
# in R, the data set's median training cost over the pool; 10 R so that the last picks count
# too (a portfolio of 5 runs about 10 R; time_to_quality's 240 s are about 18 R)
HORIZONS = (1.0, 2.5, 5.0, 10.0)
SHAPES = ("circle", "square", "triangle", "cross", "ring")
_PLAIN = {"activation": "relu", "dropout": 0.0, "weight_decay": 0.0, "batch_size": 32}
HAND = (  # the two starts tune tried first before this portfolio, and Piximi's defaults
    {"model": "simple-cnn", "optimizer": "adam", "learning_rate": 0.003, **_PLAIN},
    {"model": "cnn", "optimizer": "adam", "learning_rate": 0.001, **_PLAIN},
    {"model": "simple-cnn", "optimizer": "adam", "learning_rate": 0.01, **_PLAIN},
)


# ---- data ---------------------------------------------------------------------------------


def make_digits(root: Path) -> Path:
    """scikit-learn's digits as ``root/<digit>/dNNNN.png`` (8x8, 0-255)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    for i, (image, label) in enumerate(zip(bunch.images, bunch.target, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.rint(image / 16 * 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"d{i:04d}.png")
    return root


def make_shapes(root: Path, count: int = 900, seed: int = 1) -> Path:
    """Write ``root/<shape>/sNNNN.png``: RGB outlines on noise; colour says nothing."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    labels = np.arange(count) % len(SHAPES)
    rng.shuffle(labels)
    for i, k in enumerate(labels):
        size = int(rng.integers(24, 41))
        background = rng.integers(0, 90, 3)
        noise = rng.normal(0, 18, (size, size, 3))
        image = Image.fromarray(np.clip(background + noise, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        colour = tuple(int(c) for c in rng.integers(120, 256, 3))
        r = rng.uniform(0.22, 0.36) * size
        cx, cy = rng.uniform(r + 1, size - r - 1, 2)
        angle = rng.uniform(0, 2 * math.pi)
        width = max(1, round(size / 14))
        name = SHAPES[k]
        if name in ("circle", "ring"):
            box = (cx - r, cy - r, cx + r, cy + r)
            if name == "circle":
                draw.ellipse(box, fill=colour)
            else:
                draw.ellipse(box, outline=colour, width=width + 1)
        elif name == "cross":
            for a in (angle, angle + math.pi / 2):
                dx, dy = r * math.cos(a), r * math.sin(a)
                draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=colour, width=width + 1)
        else:
            corners = 4 if name == "square" else 3
            points = [(cx + r * math.cos(angle + 2 * math.pi * j / corners),
                       cy + r * math.sin(angle + 2 * math.pi * j / corners))
                      for j in range(corners)]  # fmt: skip
            draw.polygon(points, fill=colour)
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"s{i:04d}.png")
    return root


def folders(name: str, cache: Path) -> tuple[Path, Path]:
    """(trainval, test) of data set ``name``, built once under ``cache/data``."""
    if name in ("piximi-mnist", "cells"):
        return prepare(name, cache)
    out = cache / "data" / name
    if not (out / "done").exists():
        shutil.rmtree(out, ignore_errors=True)
        source = cache / "data" / f"{name}-all"
        shutil.rmtree(source, ignore_errors=True)
        (make_digits if name == "digits" else make_shapes)(source)
        split_folder(source, out)
        (out / "done").write_text("")
    return out / "trainval", out / "test"


# ---- the pool -----------------------------------------------------------------------------


def pool_configs(size: int) -> list[dict[str, Any]]:
    """The hand-picked starts, then random draws over tunelab's default space."""
    import optuna

    from tunelab.search.space import suggest
    from tunelab.trials.images import TRANSFER_ONLY, default_space

    space = {k: v for k, v in default_space().items() if k not in TRANSFER_ONLY}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=POOL_SEED))
    configs = [dict(c) for c in HAND]
    while len(configs) < size:
        params = suggest(study.ask(), space)
        if isinstance(params.get("learning_rate"), float):
            params["learning_rate"] = float(f"{params['learning_rate']:.3g}")
        if isinstance(params.get("dropout"), float):
            params["dropout"] = round(params["dropout"], 2)
        configs.append(params)
    return configs


def _warm_up() -> None:
    """Pay the one-off imports (torch's optimisers, scikit-learn's split) off the clock."""
    import tunelab

    with tempfile.TemporaryDirectory() as tmp:
        tunelab.train("digits", store=tmp, epochs=1, threads=1, plot=False)


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    _warm_up()


def run_config(job: dict[str, Any]) -> dict[str, Any]:
    """Train one configuration on one data set; the result is also written to disk."""
    import tunelab
    from tunelab.evaluation.evaluate import evaluate_run

    store = Path(tempfile.mkdtemp(prefix="tunelab-pool-"))
    try:
        hp = tunelab.Hyperparameters(epochs=EPOCHS, seed=job["seed"], threads=1, **job["config"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.process_time()
            run = tunelab.train(job["trainval"], hp, store=store, name="run", plot=False)
            cpu = time.process_time() - start
            try:
                accuracy = float(evaluate_run(run, Path(job["test"])).accuracy)
            except Exception:  # noqa: BLE001 - a diverged run's weights may not evaluate
                accuracy = 0.0
        if not math.isfinite(accuracy):
            accuracy = 0.0
        val = run.summary.get("final_val_accuracy")
        result = {**job, "cpu": cpu, "test_accuracy": accuracy, "status": run.status,
                  "val_accuracy": float(val) if val is not None else None}  # fmt: skip
        save_json(Path(job["path"]), result)
        return result
    finally:
        shutil.rmtree(store, ignore_errors=True)


# ---- the choice ---------------------------------------------------------------------------

Results = dict[tuple[str, int, int], dict[str, Any]]  # (data set, config, seed) -> result


def matrices(
    results: Results, names: list[str], configs: list[int], seeds: int
) -> tuple[np.ndarray, np.ndarray]:
    """(regret[data set, config], cost[data set, config] in R) for ``configs``, from the
    mean over ``seeds`` of each one's test accuracy and CPU time. R, the median and the
    best that normalise them come from the whole pool's first seed."""
    pool = sorted({c for (_, c, _) in results})
    regret = np.ones((len(names), len(configs)))
    cost = np.full((len(names), len(configs)), np.inf)
    for d, name in enumerate(names):
        first = np.array([results[name, c, 0]["test_accuracy"] for c in pool])
        accuracy = np.array([np.mean([results[name, c, s]["test_accuracy"]
                                      for s in range(seeds)]) for c in configs])  # fmt: skip
        best, median = max(first.max(), accuracy.max()), float(np.median(first))
        regret[d] = (best - accuracy) / max(best - median, 0.01)
        unit = np.median([results[name, c, 0]["cpu"] for c in pool])
        cost[d] = np.array([np.mean([results[name, c, s]["cpu"] for s in range(seeds)])
                            for c in configs]) / unit  # fmt: skip
    return regret, cost


def anytime_regret(regret: np.ndarray, cost: np.ndarray, order: tuple[int, ...]) -> float:
    """Mean regret over data sets and ``HORIZONS`` when ``order`` runs one after another
    (before anything finishes: the worst regret in the matrix, at least 1)."""
    horizons = np.array(HORIZONS)
    best = np.full((regret.shape[0], len(horizons)), max(1.0, float(regret.max())))
    finish = np.zeros(regret.shape[0])
    for pick in order:
        finish = finish + cost[:, pick]
        done = finish[:, None] <= horizons[None, :]
        best = np.where(done, np.minimum(best, regret[:, pick][:, None]), best)
    return float(best.mean())


def choose(regret: np.ndarray, cost: np.ndarray, size: int = SIZE) -> list[int]:
    """The ordered portfolio (column indices) with the lowest :func:`anytime_regret`, by
    trying every order of ``size`` columns (8 finalists, 5 picks: 6,720 orders).

    Exhaustive, not greedy: a greedy first pick is the best setting that finishes by the
    middle horizon, which can push every later pick past the first horizon; a cheap, sound
    setting run first costs the others little time. Ties: the lower mean regret, then the
    earlier order."""
    columns = range(regret.shape[1])
    orders = itertools.permutations(columns, min(size, regret.shape[1]))
    mean = regret.mean(axis=0)
    best = min(orders, key=lambda o: (anytime_regret(regret, cost, o), mean[list(o)].sum(), o))
    return list(best)


def finalists(results: Results, names: list[str], size: int, count: int) -> list[int]:
    """The ``count`` configurations with the lowest mean regret over ``names`` (first seed):
    the race's second round, retrained with more seeds (chosen without the held-out set)."""
    regret, _ = matrices(results, names, list(range(size)), 1)
    return [int(i) for i in np.argsort(regret.mean(axis=0), kind="stable")[:count]]


def train_all(jobs: list[dict[str, Any]], results: Results, procs: int) -> None:
    context = get_context("spawn")
    with ProcessPoolExecutor(procs, mp_context=context, initializer=_init_worker) as pool:
        futures = {pool.submit(run_config, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                r = future.result()
            except Exception as err:  # noqa: BLE001 - one failed training must not stop all
                print(f"{job['dataset']} #{job['index']}: failed: {err}", flush=True)
                continue
            results[job["dataset"], job["index"], job["seed"]] = r
            print(f"{time.strftime('%H:%M:%S')} {job['dataset']:12s} #{job['index']:02d} "
                  f"seed {job['seed']} {r['test_accuracy']:.3f} in {r['cpu']:.1f} CPU-s "
                  f"{r['status']}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=48, help="configurations in the pool")
    parser.add_argument(
        "--finalists",
        type=int,
        default=8,
        help="configurations retrained with more seeds (per choice)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds of each finalist")
    parser.add_argument("--procs", type=int, default=2, help="trainings run at once")
    parser.add_argument("--cache", type=Path, default=HERE / "ttq-cache")
    parser.add_argument("--report", action="store_true", help="only print what is cached")
    args = parser.parse_args(argv)  # fmt: skip
    os.environ["OMP_NUM_THREADS"] = "1"
    configs = pool_configs(args.pool)
    data = {name: folders(name, args.cache) for name in DATASETS}

    def job(name: str, c: int, seed: int) -> dict[str, Any]:
        tail = "" if seed == 0 else f"-s{seed}"
        return {"dataset": name, "index": c, "seed": seed, "config": configs[c],
                "trainval": str(data[name][0]), "test": str(data[name][1]),
                "path": str(args.cache / "pool" / name / f"{POOL_SEED}-{c:03d}{tail}.json"),
                }  # fmt: skip

    def cached(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        todo = []
        for j in jobs:
            if Path(j["path"]).exists():
                results[j["dataset"], j["index"], j["seed"]] = json.loads(
                    Path(j["path"]).read_text()
                )
            else:
                todo.append(j)
        return todo

    results: Results = {}
    todo = cached([job(n, c, 0) for c in range(len(configs)) for n in DATASETS])
    sizes = ", ".join(f"{n} {count_files(data[n][0])}+{count_files(data[n][1])}" for n in DATASETS)
    print(f"pool of {len(configs)} configurations x {len(DATASETS)} data sets ({sizes} "
          f"trainval+test images); {len(results)} first-seed trainings cached",
          flush=True)  # fmt: skip
    if todo and not args.report:
        train_all(todo, results, args.procs)
    if any((n, c, 0) not in results for n in DATASETS for c in range(len(configs))):
        print("the pool is not trained on every data set yet")
        return 1
    subsets = {"all": list(DATASETS)} | {
        held: [n for n in DATASETS if n != held] for held in DATASETS
    }
    final = {k: finalists(results, names, len(configs), args.finalists)
             for k, names in subsets.items()}  # fmt: skip
    raced = sorted(set().union(*final.values(), {0, 1}))  # and the old starts, to compare
    todo = cached([job(n, c, s) for c in raced for n in DATASETS for s in range(1, args.seeds)])
    print(f"finalists {raced}: {args.seeds} seeds each; {len(todo)} trainings to go", flush=True)
    if todo and not args.report:
        train_all(todo, results, args.procs)
    if any((n, c, s) not in results for n in DATASETS for c in raced
           for s in range(args.seeds)):  # fmt: skip
        print("the finalists are not trained with every seed yet")
        return 1
    for line in report(results, configs, final, args.seeds, args.cache):
        print(line)
    return 0


def report(
    results: Results,
    configs: list[dict[str, Any]],
    final: dict[str, list[int]],
    seeds: int,
    cache: Path,
) -> list[str]:
    names = list(DATASETS)
    pool = list(range(len(configs)))

    def chosen(subset: list[str], among: list[int]) -> list[int]:
        rows = [names.index(n) for n in subset]
        regret, cost = matrices(results, names, among, seeds)
        return [among[i] for i in choose(regret[rows], cost[rows])]

    everywhere = chosen(names, final["all"])
    lines = ["", "pool: test accuracy (CPU-s) per data set, first seed; "
             f"* = in the portfolio chosen on all; + = a finalist there ({seeds} seeds)",
             ]  # fmt: skip
    for c in pool:
        mark = "*" if c in everywhere else "+" if c in final["all"] else " "
        cells = " ".join(f"{results[n, c, 0]['test_accuracy']:.3f} ({results[n, c, 0]['cpu']:5.1f})"
                         for n in names)  # fmt: skip
        lines.append(f"{mark}{c:02d} {cells}  {json.dumps(configs[c])}")
    raced = sorted(set().union(*final.values(), {0, 1}))
    lines += ["", f"finalists: mean [min-max] test accuracy over {seeds} seeds"]
    for c in raced:
        cells = []
        for n in names:
            values = [results[n, c, s]["test_accuracy"] for s in range(seeds)]
            cells.append(f"{np.mean(values):.3f} [{min(values):.3f}-{max(values):.3f}]")
        lines.append(f" {c:02d} " + " ".join(cells))
    out: dict[str, Any] = {"all": [configs[i] for i in everywhere], "held_out": {}}
    lines += [
        "",
        "leave-one-data-set-out portfolios (finalists and choice without the held-out set), "
        f"scored on it: mean test accuracy over {seeds} seeds @ cost (in R) in order; the "
        "pool's best and median (first seed) and the old two starts' best (mean)",
    ]
    for held in names:
        picks = chosen([n for n in names if n != held], final[held])
        out["held_out"][held] = [configs[i] for i in picks]

        def mean(c: int, key: str, name: str = held) -> float:
            return float(np.mean([results[name, c, s][key] for s in range(seeds)]))

        unit = np.median([results[held, c, 0]["cpu"] for c in pool])
        first = [results[held, c, 0]["test_accuracy"] for c in pool]
        old = max(np.mean([results[held, c, s]["test_accuracy"] for s in range(seeds)])
                  if all((held, c, s) in results for s in range(seeds))
                  else results[held, c, 0]["test_accuracy"] for c in (0, 1))  # fmt: skip
        held_line = ", ".join(f"{mean(p, 'test_accuracy'):.3f}@{mean(p, 'cpu') / unit:.1f}"
                              for p in picks)  # fmt: skip
        lines.append(f"  {held:12s} {held_line}   pool best {max(first):.3f} median "
                     f"{statistics.median(first):.3f}; old starts {old:.3f}")  # fmt: skip
        finish = np.cumsum([mean(p, "cpu") / unit for p in picks])
        by = []
        for h in HORIZONS:
            done = [mean(p, "test_accuracy") for p, f in zip(picks, finish, strict=True) if f <= h]
            by.append(f"{max(done):.3f}" if done else "  -  ")
        horizons = "/".join(f"{h:g}" for h in HORIZONS)
        lines.append(f"  {'':12s} best so far by {horizons} R: " + " ".join(by))
    lines += ["", "portfolio chosen on all data sets (tunelab.trials.portfolio.PORTFOLIO):"]
    lines += [f"  {json.dumps(configs[i])}" for i in everywhere]
    path = cache / "image-portfolio.json"
    path.write_text(json.dumps(out, indent=1))
    lines.append(f"written: {path}")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
