"""What reproducible parallel trials cost: trials per minute of `tune --workers 2`,
seeded (trial n learns from trials 0..n-2 only, waiting for them) against free (from
whatever has finished).

The same tune (digits by default, an MLP, learning rate and dropout searched, the default pruner,
a fixed number of trials of a few epochs) runs in both modes, interleaved (seeded first
in even repeats, free first in odd ones) so that a change in the machine's load hits both
alike. Prints each tune's trials per minute, then per mode the median and the spread
(lowest to highest) and the ratio of the medians.

    python benchmarks/seeded_workers.py [--data digits] [--trials 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

FIXES = ["model=mlp", "activation=relu", "weight_decay=0", "optimizer=adam",
         "batch_size=32"]  # fmt: skip
MODES = {"seeded": True, "free": False}


def trials_per_minute(
    data: str, reproducible: bool, trials: int, epochs: int, store: Path
) -> float:
    import optuna

    import tunelab
    from tunelab.trials.images import build_space

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    hp = tunelab.Hyperparameters(epochs=epochs, threads=1, seed=11)
    started = time.perf_counter()
    result = tunelab.tune_images(
        data,
        hp,
        space=build_space(fixes=FIXES),
        store=store,
        portfolio=False,
        workers=2,
        n_trials=trials,
        reproducible=reproducible,
        keep_weights=1,
        progress=False,
    )
    elapsed = time.perf_counter() - started
    assert result.stopped_reason == "n_trials", result.stopped_reason
    return 60.0 * len(result.trials) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = list(MODES) if repeat % 2 == 0 else list(reversed(MODES))
            for mode in order:
                store = Path(tmp) / f"r{repeat}-{mode}"
                rate = trials_per_minute(args.data, MODES[mode], args.trials, args.epochs, store)
                rates[mode].append(rate)
                print(f"repeat {repeat} {mode:>6}: {rate:6.1f} trials/min", flush=True)
    print(f"\n{args.data}, 2 workers x 1 thread, {args.trials} trials of {args.epochs} epochs, "
          f"{args.repeats} repeats")  # fmt: skip
    medians = {}
    for mode, values in rates.items():
        medians[mode] = statistics.median(values)
        print(f"{mode:>6}: median {medians[mode]:6.1f} trials/min "
              f"(spread {min(values):.1f} to {max(values):.1f})")  # fmt: skip
    ratio = medians["seeded"] / medians["free"] if medians["free"] else float("nan")
    print(f"seeded / free: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
