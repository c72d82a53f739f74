"""The SMAC3 and DEHB anchors of ``lcbench_search.py``, run in their own virtualenv.

SMAC3 2.x and DEHB need ConfigSpace 1.x; ``yahpo-gym`` pins ConfigSpace <= 0.6.1 and
numpy < 2, so they cannot share tunelab's environment. ``lcbench_search.py`` runs this
file with the virtualenv's python (``$TUNELAB_SMAC_PYTHON``, default
``/work/venv-smac/bin/python``), one process per (method, task), all seeds in it::

    python -m venv /work/venv-smac
    /work/venv-smac/bin/pip install smac dehb onnxruntime
    /work/venv-smac/bin/python benchmarks/lcbench_external.py smac 3945 0,1,2 LIMIT

It prints one JSON object: ``{"SEED": [[cumulative seconds, value or null], ...]}``, a
row per evaluation in the order the tuner ran them (value only for 52-epoch runs). The
surrogate is the same ONNX model (``lcbench_surrogate.py``, onnxruntime path).

Both tuners are driven through their ask/tell interfaces in simulated time: an
evaluation at fidelity ``b`` epochs (rounded to a whole epoch) costs the surrogate's
cumulative time after epoch ``b`` (each evaluation trains from scratch, as both tuners
assume) and reports its validation accuracy there; the run stops once the evaluations
cost ``LIMIT`` seconds.

  smac   smac.MultiFidelityFacade (random forest over configuration and budget,
         Hyperband intensifier, eta 3, budgets 1..52 epochs), defaults otherwise
  dehb   dehb.DEHB (differential evolution inside Hyperband brackets, eta 3,
         fidelities 1..52 epochs), defaults otherwise
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lcbench_surrogate import EPOCHS, LCBench  # noqa: E402


def config_space(seed: int) -> Any:
    from ConfigSpace import ConfigurationSpace, Float, Integer

    space = ConfigurationSpace(seed=seed)
    space.add(
        [
            Integer("batch_size", (16, 512), log=True),
            Float("learning_rate", (1e-4, 1e-1), log=True),
            Float("max_dropout", (0.0, 1.0)),
            Integer("max_units", (64, 1024), log=True),
            Float("momentum", (0.1, 0.99)),
            Integer("num_layers", (1, 5)),
            Float("weight_decay", (1e-5, 0.1)),
        ]
    )
    return space


def evaluate(bench: LCBench, task: str, config: Any, fidelity: float) -> tuple[int, float, float]:
    """(epochs, accuracy, cost in seconds) of ``config`` trained ``fidelity`` epochs."""
    epochs = min(EPOCHS, max(1, int(round(fidelity))))
    accuracy, seconds = bench.curve(task, dict(config))
    return epochs, float(accuracy[epochs - 1]), float(seconds[epochs - 1])


def run_smac(bench: LCBench, task: str, seed: int, limit: float) -> list[list[Any]]:
    from smac import MultiFidelityFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    with tempfile.TemporaryDirectory() as out:
        scenario = Scenario(
            config_space(seed),
            deterministic=True,
            n_trials=1_000_000,
            min_budget=1,
            max_budget=EPOCHS,
            seed=seed,
            output_directory=Path(out),
        )
        smac = MultiFidelityFacade(
            scenario,
            target_function=lambda config, seed=0, budget=EPOCHS: 0.0,
            intensifier=MultiFidelityFacade.get_intensifier(scenario, eta=3),
            overwrite=True,
            logging_level=40,
        )
        spent, rows = 0.0, []
        while spent < limit:
            info = smac.ask()
            epochs, accuracy, cost = evaluate(bench, task, info.config, info.budget or EPOCHS)
            smac.tell(info, TrialValue(cost=100.0 - accuracy, time=cost))
            spent += cost
            rows.append([spent, accuracy if epochs == EPOCHS else None])
    return rows


def run_dehb(bench: LCBench, task: str, seed: int, limit: float) -> list[list[Any]]:
    from dehb import DEHB

    with tempfile.TemporaryDirectory() as out:
        dehb = DEHB(
            cs=config_space(seed),
            min_fidelity=1,
            max_fidelity=EPOCHS,
            eta=3,
            n_workers=1,
            seed=seed,
            output_path=out,
            log_level="ERROR",
        )
        spent, rows = 0.0, []
        while spent < limit:
            job = dehb.ask()
            epochs, accuracy, cost = evaluate(bench, task, job["config"], job["fidelity"])
            dehb.tell(job, {"fitness": 100.0 - accuracy, "cost": cost})
            spent += cost
            rows.append([spent, accuracy if epochs == EPOCHS else None])
    return rows


RUNNERS = {"smac": run_smac, "dehb": run_dehb}


def main(argv: list[str]) -> int:
    method = argv[0]
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    try:  # DEHB logs through loguru, at INFO unless told otherwise
        from loguru import logger

        logger.remove()
    except ImportError:
        pass
    bench = LCBench(backend="onnxruntime")
    for item in argv[1:]:
        task, seed, limit, out = item.split("=", 3)
        rows = RUNNERS[method](bench, task, int(seed), float(limit))
        bench._cache.clear()
        tmp = Path(out).with_suffix(".tmp")
        tmp.write_text(json.dumps(rows))
        tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
