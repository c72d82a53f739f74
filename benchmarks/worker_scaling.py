"""Worker scaling: image-classifier trials per minute with 1 and 2 local workers.

The same tune (digits by default, fixed knobs except the learning rate, no pruning, a
fixed number of epochs per trial) runs for the same wall-clock budget with one worker
process using every core, then with two single-thread workers, alternating over rounds.
Prints trials per minute for each and the ratio.

    python benchmarks/worker_scaling.py [--data digits] [--budget 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

FIXES = ["model=simple-cnn", "activation=relu", "dropout=0", "weight_decay=0",
         "optimizer=adam", "batch_size=32"]  # fmt: skip


def trials_per_minute(data: str, workers: int, budget: float, store: Path) -> float:
    import optuna

    import tunelab
    from tunelab.trials.images import build_space

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    cores = os.cpu_count() or 1
    hp = tunelab.Hyperparameters(epochs=3, threads=max(1, cores // workers))
    result = tunelab.tune_images(
        data,
        hp,
        space=build_space(fixes=FIXES),
        store=store,
        pruner="none",
        portfolio=False,
        workers=workers,
        budget_seconds=budget,
    )
    done = sum(1 for t in result.trials if t.state == "complete")
    return 60.0 * done / budget


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per tune")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
                store = Path(tmp) / f"r{round_}-w{workers}"
                rate = trials_per_minute(args.data, workers, args.budget, store)
                rates[workers].append(rate)
                print(f"round {round_} workers {workers}: {rate:.1f} trials/min", flush=True)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"\n{args.data}, {args.budget:.0f} s per tune, median of {args.rounds} rounds")
    print(f"1 worker x {os.cpu_count()} threads: {one:.1f} trials/min")
    print(f"2 workers x {max(1, (os.cpu_count() or 1) // 2)} thread(s): {two:.1f} trials/min")
    print(f"ratio 2 workers / 1 worker: {two / one:.2f}x" if one else "ratio: -")
    return 0


if __name__ == "__main__":
    sys.exit(main())
