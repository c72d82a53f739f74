"""tunelab: a hyperparameter workbench for deep-learning image classifiers.

The public API mirrors the CLI::

    import tunelab

    run = tunelab.train("digits", learning_rate=0.003, epochs=5)
    print(run.summary["best_val_accuracy"])

Names are imported on first use, so ``import tunelab`` (and ``tunelab --help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Hyperparameters": "tunelab.knobs",
    "TunelabError": "tunelab.errors",
    "train": "tunelab.api",
    "load_dataset": "tunelab.data",
    "ImageDataset": "tunelab.data",
    "Run": "tunelab.runs",
    "RunStore": "tunelab.runs",
    "tune": "tunelab.search.engine",
    "tune_images": "tunelab.trials.images",
    "sweep": "tunelab.explore.sweep",
    "find_lr": "tunelab.training.lr_find",
}

#: The public names, derived from the table above (one list; the TYPE_CHECKING imports
#: below mirror it for type checkers, and tests/test_architecture.py checks they agree).
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # "X as X": re-exported for type checkers
    from tunelab.api import train as train
    from tunelab.data import ImageDataset as ImageDataset
    from tunelab.data import load_dataset as load_dataset
    from tunelab.errors import TunelabError as TunelabError
    from tunelab.explore.sweep import sweep as sweep
    from tunelab.knobs import Hyperparameters as Hyperparameters
    from tunelab.runs import Run as Run
    from tunelab.runs import RunStore as RunStore
    from tunelab.search.engine import tune as tune
    from tunelab.training.lr_find import find_lr as find_lr
    from tunelab.trials.images import tune_images as tune_images


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tunelab' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
