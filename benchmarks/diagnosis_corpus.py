"""A labelled corpus of real learning curves for testing :func:`tunelab.diagnosis.diagnose`.

``--build`` trains about 85 short runs (threads=1) on four data sets and writes their
curves to ``tests/diagnosis/corpus.json.gz``: per-epoch rows, the per-batch loss (every
batch up to 600 of them, else evenly subsampled to about 600, first batches kept), the
knobs and the summary fields that the diagnosis reads. ``--relabel`` applies the labelling
rules below again to the stored curves (no training); ``--show`` prints the corpus.

Data sets:
  digits        scikit-learn's 8x8 digits (1,797 images, 10 classes), built into tunelab;
                also a copy with 40 % of its labels shuffled (memorisable noise)
  piximi-mnist  ``../shared/datasets/piximi-mnist/labelled`` (942 MNIST digits, 28x28)
  cells         synthetic microscopy crops made here: 20x20 float images of one cell on a
                noisy background, class 0 round, 1 elongated, 2 budding (two touching
                nuclei); sizes, positions, angles and brightness vary, so a small set
                overfits; 148 or 600 crops
  grid          :func:`tunelab.data.make_synthetic_folder` (3 classes, a lit grid cell)

Each run is trained with a recipe meant to show one verdict (``target``), but its label is
decided by the written rules of :func:`label` on the stored curves alone (plus three knobs
named in the rules), never by the recipe and never by tunelab's diagnosis code. A run
whose curves do not show what the recipe aimed at is labelled by what they do show.

Labelling rules (first match wins). Notation: L0 is the loss at the start (the first
batch's loss, or the median of the first five batches if that is lower), K the number of
classes and "chance" 1/K; the "last third" starts at epoch n - ceil(n/3) of n epochs.
  1 diverged      a non-finite loss (or status "diverged").
  2 underfitting  "stuck" (it never learned: the training loss is still >= 0.9 L0 at the
                  end - for a single epoch, the mean of its last five batches if lower -
                  or validation accuracy is within 0.05 of chance and training accuracy
                  within 0.1) with weight decay >= 0.01 (0.1 for adamw) or dropout
                  >= 0.5: the regularisation pins it.
  1 diverged      stuck, and it did not fall steadily: some batch after the first five
                  exceeded 1.25 L0, or the epoch training loss rose from one epoch to the
                  next, or the final validation loss is above the first one.
  3 crawling      stuck, and it fell steadily: the learning rate is too low.
  4 too-short     fewer than 3 epochs.
  5 overfitting   training accuracy >= 99 % and the final validation loss >= 1.5 x its
                  minimum and >= its minimum + 0.05 L0 (this one before the zigzag rules:
                  overfitting on a small validation set zigzags too).
  6 noisy-batch   batches of 8 images or fewer, the batch losses of the second half very
                  noisy (their standard deviation is more than 1.5 x their mean), and the
                  curves swing (rule 7) or plateau (rule 10): the batches are too small.
  7 oscillating   the validation loss bounced: it rose by > 25 % (and by > 0.02 L0) from
                  one epoch to the next and later fell below where it was before (or
                  the training loss did not fall by 10 % in that epoch); or the
                  training loss rose by > 10 % (and > 0.02 L0) between epochs after the
                  first two; or, with batches of 16 or more, two batches in the second
                  half exceeded L0 while the second half's median is below 0.3 L0.
  8 overfitting   the validation loss ended >= 1.1 x its minimum (and >= its minimum +
                  0.02 L0), the training loss fell
                  >= 10 % since that epoch, and training beats validation (accuracy gap
                  >= 0.03 or validation loss >= 2 x training loss); or over the last third
                  the validation loss improved < 5 % while the training loss fell > 30 %
                  with an accuracy gap >= 0.04.
  9 too-short     still improving: the lowest validation loss is in the last fifth of the
                  epochs and fell >= 5 % (and >= 0.01 L0) over the last third, with the
                  final validation accuracy above chance + 0.1.
 10 too-high /    final training accuracy < 95 % and the training loss fell < 15 % over the
    underfitting  last third: "too-high" when the learning rate is above the top of the
                  usual range for the optimizer (adam, adamw, nadam, radam, rmsprop 0.01;
                  adamax 0.03; adagrad 0.1; momentum 0.3; sgd 1; adadelta 10), else
                  "underfitting".
 11 too-short     still learning: training accuracy < 95 %, training loss fell >= 15 % over
                  the last third, validation accuracy above chance + 0.1.
 12 good-fit      none of the above.
``also`` lists the other rules among 5-10 that hold (a second problem), except when the
label is too-short (still improving: too early to call a plateau a problem).

    python benchmarks/diagnosis_corpus.py --build | --add [--piximi DIR] [--out FILE]
    python benchmarks/diagnosis_corpus.py --relabel | --show
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "diagnosis" / "corpus.json.gz"
PIXIMI = ROOT.parent / "shared" / "datasets" / "piximi-mnist" / "labelled"
MAX_BATCHES = 600
# The top of the usual learning-rate range per optimizer family (rule 10).
USUAL_TOP = {
    "adam": 0.01,
    "adamw": 0.01,
    "nadam": 0.01,
    "radam": 0.01,
    "rmsprop": 0.01,
    "adamax": 0.03,
    "adagrad": 0.1,
    "momentum": 0.3,
    "sgd": 1.0,
    "adadelta": 10.0,
}

# ---- labelling rules (see the module docstring) -----------------------------------------


def _finite(values: list[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def label(record: dict[str, Any]) -> tuple[str, list[str], str]:
    """(label, also, reason) for one stored run, by the written rules above."""
    rows = record["epochs"]
    losses = [float(b["loss"]) for b in record["batches"]]
    knobs, summary = record["knobs"], record["summary"]
    k = int(summary["num_classes"])
    chance = 1.0 / k
    tr = [float(r["train_loss"]) for r in rows]
    va = [float(r["val_loss"]) for r in rows]
    tacc = [float(r["train_accuracy"]) for r in rows]
    vacc = [float(r["val_accuracy"]) for r in rows]
    n = len(rows)
    if summary.get("status") == "diverged" or not _finite(losses + tr + va):
        return "diverged", [], "rule 1: a non-finite loss"
    l0 = min(losses[0], statistics.median(losses[:5]))
    if n == 0:
        return "too-short", [], "rule 4: no epoch"
    end = tr[-1] if n > 1 else min(tr[-1], statistics.fmean(losses[-5:]))
    guessing = vacc[-1] <= chance + 0.05 and tacc[-1] <= chance + 0.1
    if end >= 0.9 * l0 or guessing:
        decay = float(knobs.get("weight_decay") or 0)
        strong = decay >= (0.1 if knobs.get("optimizer") == "adamw" else 0.01)
        if strong or float(knobs.get("dropout") or 0) >= 0.5:
            return "underfitting", [], "rule 2: regularisation pins the loss"
        jumped = any(x > 1.25 * l0 for x in losses[5:])
        rose = any(tr[i] > tr[i - 1] for i in range(1, n))
        val_up = va[-1] > va[0]
        if jumped or rose or val_up:
            return "diverged", [], "rule 1: stuck at the start, not falling steadily"
        return "crawling", [], "rule 3: the loss fell steadily but < 10 %"
    if n < 3:
        return "too-short", [], "rule 4: fewer than 3 epochs"
    t = max(n - math.ceil(n / 3) - 1, 0)  # index of epoch n - ceil(n/3)
    vmin = min(va)
    b = va.index(vmin)
    gap = tacc[-1] - vacc[-1]
    hold: dict[str, str] = {}
    if tacc[-1] >= 0.99 and va[-1] >= 1.5 * vmin and va[-1] - vmin >= 0.05 * l0:
        hold["overfitting-strong"] = "rule 5"
    bounced = any(
        va[i] > 1.25 * va[i - 1]
        and va[i] - va[i - 1] > 0.02 * l0
        and (min(va[i + 1 :], default=math.inf) < va[i - 1] or tr[i] > 0.9 * tr[i - 1])
        for i in range(1, n)
    )
    setback = any(tr[i] > 1.1 * tr[i - 1] and tr[i] - tr[i - 1] > 0.02 * l0 for i in range(2, n))
    half = losses[len(losses) // 2 :]
    spikes = 0
    if int(knobs.get("batch_size", 32)) >= 16 and half and statistics.median(half) < 0.3 * l0:
        spikes = sum(1 for x in half if x > l0)
    fall = (tr[t] - tr[-1]) / tr[t] if tr[t] > 0 else 0.0
    plateau = tacc[-1] < 0.95 and fall < 0.15
    noisy = (
        int(knobs.get("batch_size", 32)) <= 8
        and len(half) >= 4
        and statistics.pstdev(half) > 1.5 * statistics.fmean(half)
    )
    if noisy and (bounced or setback or spikes >= 2 or plateau):
        hold["noisy-batch"] = "rule 6"
    elif bounced or setback or spikes >= 2:
        hold["oscillating"] = "rule 7"
    turned_up = (
        b < n - 1
        and va[-1] >= 1.1 * vmin
        and va[-1] - vmin >= 0.02 * l0
        and tr[-1] <= 0.9 * tr[b]
        and (gap >= 0.03 or va[-1] >= 2 * tr[-1])
    )
    stalled = min(va[t + 1 :]) > 0.95 * va[t] and tr[-1] < 0.7 * tr[t] and gap >= 0.04
    if turned_up or stalled:
        hold["overfitting"] = "rule 8"
    improving = (
        b >= n - max(1, n // 5)
        and va[t] - vmin >= max(0.05 * va[t], 0.01 * l0)
        and vacc[-1] > chance + 0.1
    )
    if improving:
        hold["too-short"] = "rule 9"
    if plateau:
        lr, opt = float(knobs["learning_rate"]), str(knobs.get("optimizer", "adam"))
        hold["too-high" if lr > USUAL_TOP.get(opt, 1.0) else "underfitting"] = "rule 10"
    if tacc[-1] < 0.95 and fall >= 0.15 and vacc[-1] > chance + 0.1:
        hold["still-learning"] = "rule 11"
    order = [
        "overfitting-strong",
        "noisy-batch",
        "oscillating",
        "overfitting",
        "too-short",
        "too-high",
        "underfitting",
        "still-learning",
    ]
    found = [key for key in order if key in hold]
    if not found:
        return "good-fit", [], "rule 12: none of the others"
    names = {"overfitting-strong": "overfitting", "still-learning": "too-short"}
    main = names.get(found[0], found[0])
    also: list[str] = []
    if main == "too-short":  # still improving: too early to call a plateau a problem
        return main, also, f"{hold[found[0]]} ({found[0]})"
    for key in found[1:]:
        name = names.get(key, key)
        if name != main and name not in also and key not in ("too-short", "still-learning"):
            also.append(name)
    return main, also, f"{hold[found[0]]} ({found[0]})"


# ---- data sets ----------------------------------------------------------------------------


def cells(count: int, seed: int) -> Any:
    """Synthetic microscopy crops: round, elongated and budding cells (3 classes)."""
    from tunelab.data import ImageDataset

    rng = np.random.default_rng(seed)
    size = 20
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images = np.zeros((count, 1, size, size), np.float32)
    labels = np.arange(count) % 3
    rng.shuffle(labels)
    for i, k in enumerate(labels):
        cy, cx = rng.uniform(7, 13, 2)
        r = rng.uniform(2.8, 4.5)
        angle = rng.uniform(0, math.pi)
        ca, sa = math.cos(angle), math.sin(angle)
        u = (xx - cx) * ca + (yy - cy) * sa
        v = -(xx - cx) * sa + (yy - cy) * ca
        if k == 0:
            e = rng.uniform(1.0, 1.35)
            mask = (u / (r * e)) ** 2 + (v / r) ** 2 <= 1
        elif k == 1:
            e = rng.uniform(1.3, 1.9)
            mask = (u / (r * e)) ** 2 + (v / (r / e)) ** 2 <= 1
        else:
            d = rng.uniform(0.7, 1.2) * r
            mask = ((u - d / 2) ** 2 + v**2 <= (0.8 * r) ** 2) | (
                (u + d / 2) ** 2 + v**2 <= (0.65 * r) ** 2
            )
        image = rng.normal(0.2, 0.12, (size, size)) + mask * rng.uniform(0.35, 0.8)
        images[i, 0] = np.clip(image, 0, 1)
    return ImageDataset(
        images, labels, ["round", "elongated", "budding"], 1.0, [f"cell{i}" for i in range(count)]
    )


def _shuffled_labels(dataset: Any, share: float, seed: int) -> Any:
    from tunelab.data import ImageDataset

    rng = np.random.default_rng(seed)
    labels = dataset.labels.copy()
    chosen = rng.choice(len(labels), int(share * len(labels)), replace=False)
    labels[chosen] = rng.integers(0, len(dataset.class_names), len(chosen))
    return ImageDataset(
        dataset.images, labels, dataset.class_names, dataset.max_value, dataset.paths
    )


def _subset(labels: np.ndarray, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from tunelab.data import stratified_split

    train_idx, val_idx = stratified_split(labels, 0.25, seed)
    chosen = np.random.default_rng(seed).choice(train_idx, size, replace=False)
    return np.sort(chosen), val_idx


# ---- recipes: (data set, target, knobs, training-set size or None) ------------------------

MLP = {"model": "mlp"}
RECIPES: list[tuple[str, str, dict[str, Any], int | None]] = [
    # learning rate far too high: blow-ups and runs stuck at chance
    ("digits", "diverged", {"optimizer": "sgd", "learning_rate": 3.0, "epochs": 2}, None),
    ("digits", "diverged", {"optimizer": "sgd", "learning_rate": 10.0, "epochs": 3}, None),
    ("digits", "diverged", {"optimizer": "adam", "learning_rate": 0.1, "epochs": 5}, None),
    ("digits", "diverged", {"optimizer": "adam", "learning_rate": 0.3, "epochs": 4}, None),
    ("digits", "diverged", {"optimizer": "sgd", "learning_rate": 1.0, "epochs": 5}, None),
    ("digits", "diverged", {**MLP, "optimizer": "sgd", "learning_rate": 10.0, "epochs": 3}, None),
    ("piximi", "diverged", {"optimizer": "adam", "learning_rate": 0.1, "epochs": 5}, None),
    ("piximi", "diverged", {**MLP, "optimizer": "sgd", "learning_rate": 10.0, "epochs": 3}, None),
    ("cells", "diverged", {"optimizer": "adam", "learning_rate": 0.3, "epochs": 5}, 600),
    ("grid", "diverged", {"optimizer": "sgd", "learning_rate": 10.0, "epochs": 4}, None),
    # learning rate too low
    ("digits", "crawling", {"learning_rate": 1e-5, "epochs": 3}, None),
    ("digits", "crawling", {"optimizer": "sgd", "learning_rate": 1e-4, "epochs": 3}, None),
    ("digits", "crawling", {**MLP, "learning_rate": 3e-6, "epochs": 4}, None),
    ("piximi", "crawling", {**MLP, "learning_rate": 1e-6, "epochs": 3}, None),
    ("cells", "crawling", {"learning_rate": 1e-5, "epochs": 4}, 600),
    ("grid", "crawling", {"optimizer": "sgd", "learning_rate": 1e-4, "epochs": 4}, None),
    # too few epochs / still improving
    ("digits", "too-short", {"learning_rate": 0.003, "epochs": 2}, None),
    ("digits", "too-short", {**MLP, "learning_rate": 1e-4, "epochs": 6}, None),
    ("digits", "too-short", {"optimizer": "sgd", "learning_rate": 0.03, "epochs": 5}, None),
    ("piximi", "too-short", {**MLP, "learning_rate": 1e-4, "epochs": 5}, None),
    ("piximi", "too-short", {"learning_rate": 0.001, "epochs": 1}, None),
    ("cells", "too-short", {"learning_rate": 3e-4, "epochs": 5}, 600),
    ("grid", "too-short", {"learning_rate": 0.001, "epochs": 4, "batch_size": 8}, None),
    # overfitting: few training images, many epochs, or noisy labels
    ("digits", "overfitting", {"learning_rate": 0.003, "batch_size": 16, "epochs": 40}, 60),
    ("digits", "overfitting", {**MLP, "learning_rate": 0.003, "batch_size": 16, "epochs": 40}, 80),
    ("digits-noisy", "overfitting", {**MLP, "learning_rate": 0.003, "epochs": 40}, 300),
    ("digits-noisy", "overfitting", {"learning_rate": 0.003, "epochs": 25}, 400),
    ("piximi", "overfitting", {**MLP, "learning_rate": 0.001, "batch_size": 16, "epochs": 40}, 100),
    ("cells", "overfitting", {"learning_rate": 0.003, "batch_size": 16, "epochs": 60}, 148),
    ("cells", "overfitting", {**MLP, "learning_rate": 0.003, "batch_size": 16, "epochs": 60}, 148),
    ("cells", "overfitting", {"model": "cnn", "learning_rate": 0.001, "epochs": 40}, 148),
    # underfitting: regularisation or too little input for the model
    ("digits", "underfitting", {"weight_decay": 0.1, "epochs": 4}, None),
    ("digits", "underfitting", {"dropout": 0.9, **MLP, "epochs": 8, "learning_rate": 0.001}, None),
    ("digits", "underfitting", {**MLP, "input_height": 4, "input_width": 4, "epochs": 12}, None),
    ("piximi", "underfitting", {**MLP, "input_height": 4, "input_width": 4, "epochs": 12}, None),
    ("cells", "underfitting", {**MLP, "input_height": 4, "input_width": 4, "epochs": 15}, 600),
    ("cells", "underfitting", {"weight_decay": 0.05, "epochs": 5}, 600),
    ("grid", "underfitting", {"dropout": 0.8, "epochs": 10}, None),
    # learning rate too high, but not diverged: learns, then cannot settle
    ("digits", "too-high", {"optimizer": "adam", "learning_rate": 0.05, "epochs": 8}, None),
    ("digits", "too-high", {**MLP, "optimizer": "adam", "learning_rate": 0.05, "epochs": 8}, None),
    ("digits", "too-high", {"optimizer": "rmsprop", "learning_rate": 0.02, "epochs": 8}, None),
    ("piximi", "too-high", {**MLP, "optimizer": "adam", "learning_rate": 0.03, "epochs": 8}, None),
    ("cells", "too-high", {"optimizer": "adam", "learning_rate": 0.05, "epochs": 10}, 600),
    ("cells", "too-high", {**MLP, "optimizer": "adam", "learning_rate": 0.1, "epochs": 10}, 600),
    # oscillating: steps too large for a smooth descent
    ("digits", "oscillating", {"optimizer": "rmsprop", "learning_rate": 0.03, "epochs": 6}, None),
    ("digits", "oscillating", {"optimizer": "adam", "learning_rate": 0.03, "epochs": 6}, None),
    (
        "digits",
        "oscillating",
        {**MLP, "optimizer": "adam", "learning_rate": 0.03, "epochs": 6},
        None,
    ),
    ("digits", "oscillating", {"optimizer": "momentum", "learning_rate": 0.3, "epochs": 6}, None),
    (
        "piximi",
        "oscillating",
        {**MLP, "optimizer": "rmsprop", "learning_rate": 0.01, "epochs": 6},
        None,
    ),
    ("cells", "oscillating", {"optimizer": "rmsprop", "learning_rate": 0.03, "epochs": 8}, 600),
    (
        "grid",
        "oscillating",
        {"optimizer": "momentum", "learning_rate": 0.3, "epochs": 8, "batch_size": 8},
        None,
    ),
    # noisy batches: batches of 2-4
    ("digits", "noisy-batch", {**MLP, "learning_rate": 0.01, "batch_size": 2, "epochs": 4}, None),
    ("digits", "noisy-batch", {**MLP, "learning_rate": 0.003, "batch_size": 2, "epochs": 4}, None),
    (
        "digits",
        "noisy-batch",
        {**MLP, "optimizer": "sgd", "learning_rate": 0.3, "batch_size": 2, "epochs": 4},
        None,
    ),
    ("piximi", "noisy-batch", {**MLP, "learning_rate": 0.01, "batch_size": 2, "epochs": 4}, None),
    ("cells", "noisy-batch", {**MLP, "learning_rate": 0.01, "batch_size": 2, "epochs": 5}, 600),
    ("cells", "noisy-batch", {"learning_rate": 0.01, "batch_size": 2, "epochs": 5}, 600),
    # good fits
    ("digits", "good-fit", {**MLP, "learning_rate": 0.003, "epochs": 10}, None),
    ("digits", "good-fit", {"learning_rate": 0.003, "epochs": 10}, None),
    (
        "digits",
        "good-fit",
        {"learning_rate": 0.01, "epochs": 8, "early_stopping_patience": 3},
        None,
    ),
    ("piximi", "good-fit", {**MLP, "learning_rate": 0.001, "epochs": 12}, None),
    ("piximi", "good-fit", {"learning_rate": 0.003, "epochs": 6}, None),
    ("cells", "good-fit", {"learning_rate": 0.003, "epochs": 12}, 600),
    ("grid", "good-fit", {"learning_rate": 0.01, "batch_size": 8, "epochs": 10}, None),
    ("grid", "good-fit", {**MLP, "learning_rate": 0.01, "batch_size": 8, "epochs": 12}, None),
    # second round: more of the verdicts the first round showed least
    ("digits", "too-high", {**MLP, "optimizer": "sgd", "learning_rate": 2.0, "epochs": 8}, None),
    (
        "digits",
        "too-high",
        {**MLP, "optimizer": "momentum", "learning_rate": 0.6, "epochs": 8},
        None,
    ),
    ("piximi", "too-high", {**MLP, "optimizer": "adam", "learning_rate": 0.02, "epochs": 8}, None),
    ("cells", "too-high", {**MLP, "optimizer": "adam", "learning_rate": 0.03, "epochs": 10}, 600),
    ("digits", "too-high", {**MLP, "learning_rate": 0.03, "batch_size": 64, "epochs": 8}, None),
    ("grid", "too-high", {**MLP, "optimizer": "adam", "learning_rate": 0.05, "epochs": 10}, None),
    ("digits", "noisy-batch", {**MLP, "learning_rate": 0.01, "batch_size": 4, "epochs": 5}, None),
    ("grid", "noisy-batch", {**MLP, "learning_rate": 0.01, "batch_size": 2, "epochs": 8}, None),
    ("cells", "noisy-batch", {**MLP, "learning_rate": 0.003, "batch_size": 2, "epochs": 4}, 600),
    ("piximi", "noisy-batch", {**MLP, "learning_rate": 0.02, "batch_size": 2, "epochs": 3}, None),
    (
        "digits",
        "noisy-batch",
        {**MLP, "optimizer": "sgd", "learning_rate": 0.1, "batch_size": 2, "epochs": 4},
        None,
    ),
    ("digits", "underfitting", {"weight_decay": 0.003, "epochs": 8}, None),
    ("piximi", "underfitting", {**MLP, "weight_decay": 0.005, "epochs": 8}, None),
    ("digits-noisy", "underfitting", {**MLP, "learning_rate": 0.001, "epochs": 6}, None),
    ("cells", "underfitting", {**MLP, "learning_rate": 0.001, "epochs": 10}, 600),
    (
        "digits",
        "good-fit",
        {**MLP, "learning_rate": 0.01, "epochs": 20, "early_stopping_patience": 3},
        None,
    ),
    (
        "piximi",
        "good-fit",
        {**MLP, "learning_rate": 0.003, "epochs": 20, "early_stopping_patience": 3},
        None,
    ),
    (
        "cells",
        "good-fit",
        {"learning_rate": 0.003, "epochs": 20, "early_stopping_patience": 3},
        600,
    ),
    (
        "grid",
        "good-fit",
        {"learning_rate": 0.01, "batch_size": 8, "epochs": 20, "early_stopping_patience": 3},
        None,
    ),
    # third round: batches of 2 with plain SGD, and momentum just above its usual range
    (
        "digits",
        "noisy-batch",
        {**MLP, "optimizer": "sgd", "learning_rate": 0.2, "batch_size": 2, "epochs": 3},
        None,
    ),
    (
        "digits",
        "noisy-batch",
        {**MLP, "optimizer": "sgd", "learning_rate": 0.15, "batch_size": 2, "epochs": 3},
        None,
    ),
    (
        "grid",
        "noisy-batch",
        {**MLP, "optimizer": "sgd", "learning_rate": 0.3, "batch_size": 2, "epochs": 6},
        None,
    ),
    (
        "digits",
        "too-high",
        {**MLP, "optimizer": "momentum", "learning_rate": 0.4, "epochs": 8},
        None,
    ),
    (
        "piximi",
        "too-high",
        {**MLP, "optimizer": "momentum", "learning_rate": 0.4, "epochs": 8},
        None,
    ),
    ("cells", "too-high", {"optimizer": "momentum", "learning_rate": 0.4, "epochs": 8}, 600),
]

SUMMARY_KEYS = ("status", "reason", "epochs_run", "epochs_planned", "best_epoch", "n_train")


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.5g}") if math.isfinite(value) else str(value)
    return value


def _record(run: Any, data: str, target: str, knobs: dict[str, Any]) -> dict[str, Any]:
    batches = run.batches
    if len(batches) > MAX_BATCHES:
        step = math.ceil(len(batches) / MAX_BATCHES)
        batches = batches[:10] + batches[10::step]
    summary = {key: run.summary.get(key) for key in SUMMARY_KEYS}
    summary["num_classes"] = len(run.summary.get("classes") or [])
    hp = run.hyperparameters.model_dump()
    return {
        "id": f"{data}-{target}-{run.path.name}",
        "data": data,
        "target": target,
        "recipe": knobs,
        "knobs": {key: _round(value) for key, value in hp.items() if value is not None},
        "summary": summary,
        "batch_count": len(run.batches),
        "epochs": [{key: _round(v) for key, v in row.items()} for row in run.epochs],
        "batches": [
            {key: _round(row[key]) for key in ("epoch", "step", "loss")} for row in batches
        ],
    }


def build(piximi: Path, out: Path, add: bool = False) -> list[dict[str, Any]]:
    """Train every recipe (with ``add``, only those not yet in ``out``) and write ``out``.

    Each run depends only on its own recipe, seed (its index) and split, so adding runs
    gives what a full build would.
    """
    from tunelab.data import load_dataset, make_synthetic_folder
    from tunelab.training.trainer import train

    tmp = Path(tempfile.mkdtemp(prefix="diagnosis-corpus-"))
    digits = load_dataset("digits")
    sources: dict[str, Any] = {
        "digits": digits,
        "digits-noisy": _shuffled_labels(digits, 0.4, 0),
        "piximi": load_dataset(piximi, cache_dir=tmp / "cache"),
        "grid": load_dataset(
            make_synthetic_folder(tmp / "grid", classes=3, per_class=20), cache_dir=tmp / "cache"
        ),
    }
    cell_sets = {148: cells(198, 1), 600: cells(800, 2)}
    records = read(out) if add and out.exists() else []
    have = {record["id"] for record in records}
    started = time.perf_counter()
    for i, (data, target, knobs, size) in enumerate(RECIPES):
        if f"{i:02d}-{data}-{target}" in have:
            continue
        if data == "cells":
            dataset = cell_sets[size or 600]
            split = _subset(dataset.labels, size or 600, i)
        else:
            dataset = sources[data]
            split = _subset(dataset.labels, size, i) if size else None
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = train(dataset, store=tmp / "runs", threads=1, seed=i, split=split, **knobs)
        record = _record(run, data, target, knobs)
        record["id"] = f"{i:02d}-{data}-{target}"
        record["label"], record["also"], record["label_reason"] = label(record)
        records.append(record)
        print(
            f"{record['id']:<28} {time.perf_counter() - t0:5.1f} s  label {record['label']:<12}"
            f" also {','.join(record['also']) or '-'}",
            flush=True,
        )
    records.sort(key=lambda record: record["id"])
    write(records, out)
    print(f"{len(records)} runs in {time.perf_counter() - started:.0f} s -> {out}")
    return records


def write(records: list[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"version": 1, "runs": records}, separators=(",", ":"))
    tmp = out.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(out)


def read(path: Path = CORPUS) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return list(json.load(handle)["runs"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--build", action="store_true", help="train the runs, write the corpus")
    group.add_argument("--add", action="store_true", help="train only the new recipes")
    group.add_argument("--relabel", action="store_true", help="apply the rules again")
    group.add_argument("--show", action="store_true", help="print the stored corpus")
    parser.add_argument("--piximi", type=Path, default=PIXIMI, help="piximi-mnist labelled/")
    parser.add_argument("--out", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    if args.build or args.add:
        if not args.piximi.is_dir():
            print(f"--piximi: no folder at {args.piximi}; pass the piximi-mnist labelled/ folder.")
            return 2
        build(args.piximi, args.out, add=args.add)
        return 0
    records = read(args.out)
    if args.relabel:
        for record in records:
            record["label"], record["also"], record["label_reason"] = label(record)
        write(records, args.out)
    counts: dict[str, int] = {}
    for record in records:
        counts[record["label"]] = counts.get(record["label"], 0) + 1
        print(
            f"{record['id']:<28} target {record['target']:<12} label {record['label']:<12} "
            f"also {','.join(record['also']) or '-':<12} {record['label_reason']}"
        )
    print(dict(sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
