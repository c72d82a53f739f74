"""Per-trial overhead of a tuning trial's run folder: checkpoint after every epoch, or once.

A tuning trial is an ordinary run (curves, summary, weights), and until now it also wrote
its resumable checkpoint (weights, optimiser moments, best weights, curves) after every
epoch. A lost trial is retried from scratch, so tune's trials now write it once, when they
end (``train(..., checkpoint_every_epoch=False)``). This measures what that saves: the
same trials (the first two settings of tune's portfolio, 10 epochs, on digits at 28x28 or
piximi-mnist when ``../shared`` has it), interleaved ``--rounds`` times, each method's CPU
time outside train_step/evaluate (the trainer's forward/backward/validation), on one thread.

    python benchmarks/trial_overhead.py [--rounds 5] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from time_to_quality import PIXIMI, Compute  # noqa: E402 - the same timer and data set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    import tunelab
    from tunelab.data import load_dataset
    from tunelab.training.trainer import train
    from tunelab.trials.portfolio import PORTFOLIO

    source = str(PIXIMI) if PIXIMI.is_dir() else "digits"
    dataset = load_dataset(source, input_size=(28, 28))
    split = dataset.split(0.25, 0, False)[:2]
    Compute.install()
    store = Path(tempfile.mkdtemp(prefix="tunelab-overhead-"))
    overhead: dict[str, list[float]] = {"every epoch": [], "once": []}
    warnings.simplefilter("ignore")
    # one untimed run first: the first training in a process pays one-off imports
    train(dataset, tunelab.Hyperparameters(epochs=1, threads=1, **PORTFOLIO[0]),
          store=store, split=split)  # fmt: skip
    for r in range(args.rounds):
        for k, point in enumerate(PORTFOLIO[:2]):
            order = list(overhead) if (r + k) % 2 == 0 else list(overhead)[::-1]
            for method in order:
                hp = tunelab.Hyperparameters(epochs=args.epochs, threads=1, seed=r, **point)
                start, compute = time.process_time(), Compute.seconds
                train(dataset, hp, store=store, split=split,
                      checkpoint_every_epoch=method == "every epoch")  # fmt: skip
                cpu = time.process_time() - start
                overhead[method].append(cpu - (Compute.seconds - compute))
    print(f"data {source} ({len(dataset)} images, 28x28), {args.epochs} epochs, "
          f"{args.rounds} rounds x 2 portfolio settings, interleaved")  # fmt: skip
    print("per-trial CPU-s outside train_step/evaluate: median [min-max]")
    for method, values in overhead.items():
        print(f"  checkpoint {method:12s} {statistics.median(values):.3f} "
              f"[{min(values):.3f}-{max(values):.3f}]")  # fmt: skip
    ratios = [a / b for a, b in zip(overhead["once"], overhead["every epoch"], strict=True)]
    print(f"overhead once / every epoch, paired: median {statistics.median(ratios):.2f}x "
          f"[{min(ratios):.2f}-{max(ratios):.2f}]")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
