"""From scratch vs fine-tuned from digits, on piximi-mnist with 5 %, 25 % and 100 % of labels.

The source model: ``simple-cnn`` trained on scikit-learn's digits (1,797 images of 8x8,
resized to 28x28 through the input size), once, seed 0. The target: Piximi's MNIST
example (``../shared/datasets/piximi-mnist/labelled``, 942 images of 28x28, 10 classes).
A fixed, stratified 30 % of it is the test set; of the other 70 % (the pool), each seed
takes a stratified 5 %, 25 % or 100 % as the training set. Every run trains the same
epochs with the same knobs; the test images are the run's validation split, which only
measures (no early stopping or best-epoch weights: the final weights are scored), so the
figure is the test accuracy of the last epoch.

Methods, interleaved within each seed:
  scratch     random initial weights
  fine-tune   init_from the digits run (same classes 0-9: the head is kept)
  fine-tune+  init_from with freeze_epochs 2 and backbone_lr_factor 0.1

Printed: the median test accuracy over 3 seeds with its min-max, and the median gain of
each fine-tuning over scratch (paired by seed). One thread, a few minutes.

    python benchmarks/transfer_learning.py [--epochs 20] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "piximi-mnist"
FRACTIONS = (0.05, 0.25, 1.0)
METHODS = {
    "scratch": {},
    "fine-tune": {"init_from": "digits-source"},
    "fine-tune+": {"init_from": "digits-source", "freeze_epochs": 2, "backbone_lr_factor": 0.1},
}


def stratified_subset(labels: np.ndarray, pool: np.ndarray, fraction: float, seed: int):
    """``fraction`` of ``pool`` with every class in proportion (at least one image each)."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels[pool]):
        members = pool[labels[pool] == label]
        count = max(1, round(fraction * len(members)))
        chosen.append(rng.choice(members, size=count, replace=False))
    return np.sort(np.concatenate(chosen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA / "labelled")
    args = parser.parse_args()

    from tunelab.data import load_dataset, stratified_split
    from tunelab.training.trainer import train

    knobs = dict(
        model="simple-cnn",
        optimizer="adam",
        learning_rate=0.003,
        batch_size=16,
        epochs=args.epochs,
        threads=1,
    )
    target = load_dataset(args.data.resolve(), input_size=(28, 28))
    pool, test = stratified_split(target.labels, 0.3, 12345)
    with tempfile.TemporaryDirectory() as store:
        started = time.perf_counter()
        source = train(
            "digits",
            store=store,
            name="digits-source",
            **{**knobs, "input_height": 28, "input_width": 28},
        )
        print(
            f"source: simple-cnn on digits at 28x28, {args.epochs} epochs, validation accuracy "
            f"{source.summary['final_val_accuracy']:.3f}"
        )
        print(
            f"target: {args.data.name} ({len(target.labels)} images); test set {len(test)} "
            f"images (fixed); training pool {len(pool)}"
        )
        print(
            f"knobs: simple-cnn, adam, lr 0.003, batch 16, {args.epochs} epochs, threads 1; "
            f"{args.seeds} seeds\n"
        )
        scores: dict[tuple[float, str], list[float]] = {}
        for fraction in FRACTIONS:
            for seed in range(args.seeds):
                subset = stratified_subset(target.labels, pool, fraction, seed)
                for method, extra in METHODS.items():
                    run = train(
                        target,
                        store=store,
                        split=(subset, test),
                        seed=seed,
                        **knobs,
                        **extra,  # type: ignore[arg-type]
                    )
                    scores.setdefault((fraction, method), []).append(
                        float(run.summary["final_val_accuracy"])
                    )
            print(_row(fraction, len(subset), scores))
            sys.stdout.flush()
        print(f"\n{time.perf_counter() - started:.0f} s in all")


def _row(fraction: float, n_train: int, scores: dict[tuple[float, str], list[float]]) -> str:
    parts = [f"{fraction:>4.0%} labels ({n_train:>3} images):"]
    base = scores[(fraction, "scratch")]
    for method in METHODS:
        values = scores[(fraction, method)]
        text = f"{method} {statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"
        if method != "scratch":
            gain = statistics.median(v - b for v, b in zip(values, base, strict=True))
            text += f" (gain {gain:+.3f})"
        parts.append(text)
    return "  ".join(parts)


if __name__ == "__main__":
    main()
