"""The public functions behind ``import tunelab``: thin compositions of the packages.

:func:`train` is :func:`tunelab.training.trainer.train` plus the learning-curve PNG; the
CLI's ``tunelab train`` and the web app call the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunelab.data import ImageDataset
from tunelab.knobs import Hyperparameters
from tunelab.runs import Run, RunStore
from tunelab.training.callbacks import Callback


def train(
    data: str | Path | ImageDataset,
    hyperparameters: Hyperparameters | dict[str, Any] | None = None,
    *,
    store: RunStore | str | Path | None = None,
    name: str | None = None,
    callbacks: Sequence[Callback] = (),
    skip_bad: bool = False,
    plot: bool = True,
    **knobs: Any,
) -> Run:
    """Train a classifier on ``data``, store the run and draw its curves; return the run.

    ``data`` is a folder of class sub-folders, a CSV manifest, ``"digits"`` or a loaded
    :class:`~tunelab.data.ImageDataset`; knobs are :class:`~tunelab.Hyperparameters`
    fields, given as a model, a mapping or keywords. ``plot=False`` skips ``curves.png``
    (``tunelab plot RUN`` draws it later from the stored metrics).

    >>> run = train("digits", epochs=2, learning_rate=0.003)  # doctest: +SKIP
    >>> run.summary["best_val_accuracy"]  # doctest: +SKIP
    """
    from tunelab.training.trainer import train as train_run

    extra: list[Callback] = []
    if plot:
        from tunelab.report.curves import PlotCurves

        extra.append(PlotCurves())
    return train_run(
        data,
        hyperparameters,
        store=store,
        name=name,
        callbacks=[*callbacks, *extra],
        skip_bad=skip_bad,
        **knobs,
    )
