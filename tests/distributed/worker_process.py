"""One worker process on a study, for the tests: ``python worker_process.py URL STUDY``.

Prints ``ready`` once imported and connected, waits for a line on stdin (so that all
workers start together), runs :func:`tunelab.search.worker.join` with the toy objective
and prints its stop reason as JSON. ``--sleep S`` and ``--epochs N`` shape each trial.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys

import optuna

from tunelab.search.toy import curve
from tunelab.search.worker import join, study_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("study")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study_settings(args.url, args.study)  # connect (and import everything) before "ready"
    print("ready", flush=True)
    sys.stdin.readline()
    objective = functools.partial(curve, epochs=args.epochs, sleep=args.sleep)
    result = join(objective, storage=args.url, study_name=args.study)
    print(json.dumps({"stopped": result.stopped_reason}), flush=True)


if __name__ == "__main__":
    main()
