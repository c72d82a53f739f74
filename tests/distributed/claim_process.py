"""One claimer of queued trials, for the race test: ``python claim_process.py URL STUDY``.

Prints ``ready`` once connected, waits for a line on stdin (so that every claimer starts
at the same moment), then asks for trials until the study has none left, holding each one
RUNNING, and prints the numbers it was given as JSON.
"""

from __future__ import annotations

import json
import sys
import warnings

import optuna

from tunelab.search.storage import open_storage
from tunelab.search.tickets import NoTrialLeft


def main() -> None:
    url, name = sys.argv[1], sys.argv[2]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")  # the heartbeat is meant for optimize(); not used here
    study = optuna.load_study(study_name=name, storage=open_storage(url))
    study.get_trials(deepcopy=False)
    print("ready", flush=True)
    sys.stdin.readline()
    claimed = []
    while True:
        try:
            trial = study.ask()
        except NoTrialLeft:
            break
        claimed.append(trial.number)
    print(json.dumps(claimed), flush=True)


if __name__ == "__main__":
    main()
