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
are). For a held-out data set the portfolio is built greedily from the others only: each
step adds the configuration that most lowers the mean normalised regret
(``(best - accuracy) / (best - median)`` over the pool) at 1, 2.5 and 5 R, when the
portfolio so far runs one configuration after another. So a configuration
is worth adding when it is good where the others are not and cheap enough to finish early.

    python benchmarks/image_portfolio.py [--pool 48] [--procs 2]   # trains what is missing
    python benchmarks/image_portfolio.py --report                   # only prints

Writes ``image-portfolio.json`` beside its cache: the portfolio for every held-out data set
(``time_to_quality.py`` reads it) and the one chosen on all of them (shipped as
``tunelab.trials.portfolio.PORTFOLIO``).
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
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from time_to_quality import EPOCHS, count_files, prepare, split_folder  # noqa: E402

DATASETS = ("piximi-mnist", "cells", "digits", "shapes")
POOL_SEED = 2026
SIZE = 5  # configurations in a portfolio
HORIZONS = (1.0, 2.5, 5.0)  # in R, the data set's median training cost over the pool
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
        hp = tunelab.Hyperparameters(epochs=EPOCHS, seed=0, threads=1, **job["config"])
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
        path = Path(job["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".tmp").write_text(json.dumps(result))
        path.with_suffix(".tmp").rename(path)
        return result
    finally:
        shutil.rmtree(store, ignore_errors=True)


# ---- the choice ---------------------------------------------------------------------------


def matrices(
    results: dict[tuple[str, int], dict[str, Any]], names: list[str], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(regret[data set, config], cost[data set, config] in R, the median cost)."""
    regret = np.ones((len(names), size))
    cost = np.full((len(names), size), np.inf)
    for d, name in enumerate(names):
        accuracy = np.array([results[name, c]["test_accuracy"] for c in range(size)])
        best, median = accuracy.max(), float(np.median(accuracy))
        regret[d] = (best - accuracy) / max(best - median, 0.01)
        seconds = np.array([results[name, c]["cpu"] for c in range(size)])
        cost[d] = seconds / np.median(seconds)
    return regret, cost


def choose(regret: np.ndarray, cost: np.ndarray, size: int = SIZE) -> list[int]:
    """Greedy portfolio (pool indices) minimising the mean regret at ``HORIZONS``."""
    n_sets, _ = regret.shape
    spent = np.zeros(n_sets)
    best = np.full((n_sets, len(HORIZONS)), max(1.0, float(regret.max())))
    horizons = np.array(HORIZONS)
    chosen: list[int] = []
    for _ in range(size):
        finish = spent[:, None] + cost
        done = finish[:, :, None] <= horizons[None, None, :]
        candidate = np.where(done, np.minimum(best[:, None, :], regret[:, :, None]),
                             best[:, None, :])  # fmt: skip
        # ties (nothing finishes in time): the better mean regret, then the cheaper
        score = candidate.mean(axis=(0, 2)) + 1e-6 * regret.mean(axis=0) + 1e-9 * cost.mean(0)
        score[chosen] = np.inf
        pick = int(np.argmin(score))
        chosen.append(pick)
        best = candidate[:, pick, :]
        spent = finish[:, pick]
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=48, help="configurations in the pool")
    parser.add_argument("--procs", type=int, default=2, help="trainings run at once")
    parser.add_argument("--cache", type=Path, default=HERE / "ttq-cache")
    parser.add_argument("--report", action="store_true", help="only print what is cached")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = "1"
    configs = pool_configs(args.pool)
    data = {name: folders(name, args.cache) for name in DATASETS}
    jobs = [
        {"dataset": name, "index": c, "config": config, "trainval": str(data[name][0]),
         "test": str(data[name][1]),
         "path": str(args.cache / "pool" / name / f"{POOL_SEED}-{c:03d}.json")}
        for c, config in enumerate(configs) for name in DATASETS
    ]  # fmt: skip
    results = {(j["dataset"], j["index"]): json.loads(Path(j["path"]).read_text())
               for j in jobs if Path(j["path"]).exists()}  # fmt: skip
    todo = [j for j in jobs if (j["dataset"], j["index"]) not in results]
    sizes = ", ".join(f"{n} {count_files(data[n][0])}+{count_files(data[n][1])}" for n in DATASETS)
    print(f"pool of {len(configs)} configurations x {len(DATASETS)} data sets ({sizes} "
          f"trainval+test images); {len(results)} trainings cached", flush=True)  # fmt: skip
    if todo and not args.report:
        context = get_context("spawn")
        with ProcessPoolExecutor(args.procs, mp_context=context, initializer=_init_worker) as pool:
            futures = {pool.submit(run_config, job): job for job in todo}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    r = future.result()
                except Exception as err:  # noqa: BLE001 - one failed training must not stop all
                    print(f"{job['dataset']} #{job['index']}: failed: {err}", flush=True)
                    continue
                results[job["dataset"], job["index"]] = r
                print(f"{time.strftime('%H:%M:%S')} {job['dataset']:12s} #{job['index']:02d} "
                      f"{r['test_accuracy']:.3f} in {r['cpu']:.1f} CPU-s {r['status']}",
                      flush=True)  # fmt: skip
    complete = [c for c in range(len(configs))
                if all((n, c) in results for n in DATASETS)]  # fmt: skip
    if len(complete) < len(configs):
        print(f"{len(configs) - len(complete)} configurations not trained on every data set yet")
        return 1
    for line in report(results, configs, args.cache):
        print(line)
    return 0


def report(
    results: dict[tuple[str, int], dict[str, Any]], configs: list[dict[str, Any]], cache: Path
) -> list[str]:
    names = list(DATASETS)
    regret, cost = matrices(results, names, len(configs))
    lines = ["", "pool: test accuracy (CPU-s) per data set; * = in the portfolio chosen on all"]
    everywhere = choose(regret, cost)
    for c, config in enumerate(configs):
        mark = "*" if c in everywhere else " "
        cells = " ".join(f"{results[n, c]['test_accuracy']:.3f} ({results[n, c]['cpu']:5.1f})"
                         for n in names)  # fmt: skip
        lines.append(f"{mark}{c:02d} {cells}  {json.dumps(config)}")
    out: dict[str, Any] = {"all": [configs[i] for i in everywhere], "held_out": {}}
    lines += [
        "",
        "leave-one-data-set-out portfolios, scored on the held-out data set: "
        "test accuracy@cost (in R) in order, then the pool's best and median",
    ]
    for d, name in enumerate(names):
        others = [i for i in range(len(names)) if i != d]
        picks = choose(regret[others], cost[others])
        out["held_out"][name] = [configs[i] for i in picks]
        accuracy = [results[name, c]["test_accuracy"] for c in range(len(configs))]
        held = ", ".join(f"{accuracy[p]:.3f}@{cost[d, p]:.1f}" for p in picks)
        lines.append(f"  {name:12s} {held}   best {max(accuracy):.3f} median "
                     f"{statistics.median(accuracy):.3f} defaults {accuracy[2]:.3f}")  # fmt: skip
    lines += ["", "portfolio chosen on all data sets (tunelab.trials.portfolio.PORTFOLIO):"]
    lines += [f"  {json.dumps(configs[i])}" for i in everywhere]
    path = cache / "image-portfolio.json"
    path.write_text(json.dumps(out, indent=1))
    lines.append(f"written: {path}")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
