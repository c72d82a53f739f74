"""Curves in, a verdict and one next step out.

:func:`diagnose` reads a run's per-epoch and per-batch records, its summary and its
hyperparameters, and says in plain words what the curves show, with the numbers that
show it, and which knob to turn next on tunelab's ladders (learning rate x3 or /3 on the
1-3-10 ladder, batch size x2). Verdicts, checked in this order (the first that holds is
the main one; :attr:`Diagnosis.secondary` names a second problem when there is one):

``diverged``     NaN/inf, or a run that learned nothing (loss near its start, or
                 accuracy at chance) after the loss jumped, rose or swung: the learning
                 rate is far too high.
``crawling``     learned nothing, but the loss fell steadily: the rate is too low.
``too-short``    fewer than 3 epochs (later also: still improving or still learning).
``overfitting``  first when training accuracy is >= 99 % and validation loss is 1.5x
                 its minimum; later, validation loss turned up (or stalled) while the
                 training loss kept falling, with a gap between training and validation.
``noisy-batch``  the loss swings and the batch losses are very noisy: batches too small.
``oscillating``  batch losses that jump back towards their start, or training/validation
                 losses that go up and down between epochs: steps too large.
``too-high``     training accuracy flat below 95 % with a learning rate above the usual
                 range of the optimizer: it cannot settle.
``underfitting`` training accuracy stays low and the training loss is flat (or strong
                 weight decay or dropout pins the loss at its start).
``good-fit``     none of the above; the epoch where validation loss was best.

Accuracy on a labelled corpus of real runs (``tests/diagnosis/corpus.json.gz``, built by
``benchmarks/diagnosis_corpus.py``, scored by ``benchmarks/diagnosis_accuracy.py``) is
pinned by ``tests/diagnosis/test_corpus.py``.

>>> d = diagnose([], [], {"status": "diverged", "reason": "loss became nan at step 3"},
...              {"learning_rate": 0.1})
>>> d.verdict, d.next_step
('diverged', {'learning_rate': 0.01})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunelab.diagnosis.base import VERDICTS, Diagnosis, clean
from tunelab.diagnosis.curves import read_curves
from tunelab.diagnosis.ladders import LR_LADDER, MODEL_LADDER, batch_up, lr_down, lr_up
from tunelab.diagnosis.rate import blown_up, crawling, non_finite
from tunelab.diagnosis.rules import add_secondary, first

__all__ = [
    "LR_LADDER",
    "MODEL_LADDER",
    "VERDICTS",
    "Diagnosis",
    "batch_up",
    "diagnose",
    "diagnose_run",
    "lr_down",
    "lr_up",
]


def diagnose(
    epochs: Sequence[Mapping[str, Any]],
    batches: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any] | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
) -> Diagnosis:
    """Read a run's curves and say what they show, with the numbers and one next step.

    ``epochs`` and ``batches`` are the rows of ``metrics_epoch.csv`` and
    ``metrics_batch.csv`` (dicts), ``summary`` the run's summary (its ``status``,
    ``reason`` and ``classes`` are used), ``hyperparameters`` its knobs as a dict.
    """
    summary = summary or {}
    hp = dict(hyperparameters or {})
    c = read_curves(epochs, batches, summary, hp)
    found = non_finite(c, summary, hp)
    if found is None and c.n == 0:
        found = Diagnosis(
            "too-short",
            "No epoch finished, so there are no curves to read. Train for at least a few "
            "epochs: epochs 10.",
            {"epochs_run": 0},
            {"epochs": 10},
        )
    if found is None:
        found = blown_up(c, hp) or crawling(c, hp)
    if found is None:
        found = first(c, hp)
        add_secondary(found, c, hp)
    found.evidence = {key: clean(value) for key, value in found.evidence.items()}
    found.at_epoch, found.mark = where(found.verdict, c)
    return found


def where(verdict: str, c: Any) -> tuple[int | None, str]:
    """The epoch a chart marks for ``verdict`` and its label (None when nothing points)."""
    if c.n == 0:
        return None, ""
    if verdict == "overfitting":
        return int(c.epochs[c.best]), "validation loss turns up after this epoch"
    if verdict == "diverged":
        return int(c.epochs[-1]), "diverged here"
    if verdict == "too-short":
        return int(c.epochs[-1]), "still improving when training ended"
    if verdict == "good-fit":
        return int(c.epochs[c.best]), "best validation loss"
    return None, ""


def diagnose_run(run: Any) -> Diagnosis:
    """:func:`diagnose` for a stored :class:`~tunelab.runs.Run` (reads its files)."""
    try:
        hp = run.hyperparameters.model_dump()
    except Exception:  # a hand-edited config should not stop the diagnosis
        hp = {}
    return diagnose(run.epochs, run.batches, run.summary, hp)
