"""Toy objectives with fake learning curves, for tests, examples and quick demos.

They are plain top-level functions, so they pickle into worker processes; bind options
with ``functools.partial``::

    from functools import partial
    from tunelab.search import Float, tune
    from tunelab.search.toy import curve

    tune(partial(curve, epochs=9), {"x": Float(-1, 1)}, n_trials=20)

The value at epoch ``e`` is ``score(params) * (1 - 0.5**e)``: every curve rises and
flattens, and a better setting is better at every epoch, which is what pruning relies on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from tunelab.search.reporter import Reporter

#: Where each known parameter scores best, and the best score there is (1.0 at the optimum).
OPTIMUM: dict[str, Any] = {"x": 0.3, "y": -0.2, "lr": 1e-2, "units": 12, "kind": "a"}
_KIND_PENALTY = {"a": 0.0, "b": 0.3, "c": 0.6}


def score(params: Mapping[str, Any]) -> float:
    """1.0 at :data:`OPTIMUM`, falling off smoothly; unknown names are ignored."""
    loss = 0.0
    if "x" in params:
        loss += (params["x"] - OPTIMUM["x"]) ** 2
    if "y" in params:
        loss += (params["y"] - OPTIMUM["y"]) ** 2
    if "lr" in params:
        loss += (math.log10(params["lr"]) - math.log10(OPTIMUM["lr"])) ** 2 / 4
    if "units" in params:
        loss += (params["units"] - OPTIMUM["units"]) ** 2 / 100
    if "kind" in params:
        loss += _KIND_PENALTY.get(params["kind"], 1.0)
    return 1.0 - loss


def curve(
    params: dict[str, Any],
    reporter: Reporter,
    *,
    epochs: int = 9,
    sleep: float = 0.0,
    noise: float = 0.0,
    fail_on: Collection[int] = (),
    diverge_on: Collection[int] = (),
    interrupt_on: Collection[int] = (),
) -> float:
    """Report ``score(params) * (1 - 0.5**epoch)`` for each epoch; return the last.

    ``sleep`` seconds pass per epoch; ``noise`` adds Gaussian noise drawn from
    ``reporter.seed``. Trials numbered in ``fail_on`` raise ValueError at epoch 2, in
    ``diverge_on`` report NaN at epoch 2, in ``interrupt_on`` raise KeyboardInterrupt
    at epoch 2, as if the user pressed Ctrl-C.
    """
    rng = np.random.default_rng(reporter.seed)
    target = score(params)
    value = 0.0
    for epoch in range(1, epochs + 1):
        if sleep:
            time.sleep(sleep)
        value = target * (1 - 0.5**epoch) + noise * float(rng.normal())
        if epoch == 2 and reporter.trial_number in fail_on:
            raise ValueError("toy failure")
        if epoch == 2 and reporter.trial_number in diverge_on:
            value = math.nan
        if epoch == 2 and reporter.trial_number in interrupt_on:
            raise KeyboardInterrupt
        reporter.report(epoch, value)
    return value
