"""The best trial as a config file that trains it again: ``<study>-best.yaml``.

``tunelab train DATA --config <study>-best.yaml`` gives the best trial's number, because
the file holds every knob the trial ran with (user attribute ``knobs``, recorded by the
objective), including:

- ``seed``: the trial's own seed (it set the initial weights and the batch order);
- ``split_seed``: the seed of the validation split that every trial of the study shared
  (the study's base seed), so the same images are held out;
- ``epochs``: the trial's. A trial's value is the validation accuracy of the weights it
  kept, measured after its last epoch (with early stopping and ``restore_best_weights``,
  of the restored epoch's weights), so the number and the weights agree; the epoch is
  recorded as ``value_epoch`` and named in the file's first lines.

With ``--cv K`` a trial's value is the mean over K folds at its best epoch: the config
sets ``epochs`` to that epoch, but one run on one split cannot reproduce a mean over folds.
Retraining is exact on the same machine with the same thread count; other hardware may
round differently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunelab.knobs import Hyperparameters
from tunelab.search.results import TrialRecord


def value_epoch(record: TrialRecord) -> int | None:
    """The epoch whose weights the trial's value measured (None for old studies)."""
    epoch = record.user_attrs.get("value_epoch")
    return int(epoch) if isinstance(epoch, int) else None


def best_hyperparameters(record: TrialRecord, base: Hyperparameters) -> Hyperparameters:
    """Every knob trial ``record`` ran with; for studies that did not record them, the
    base knobs with the trial's parameters and seed."""
    knobs = record.user_attrs.get("knobs")
    if isinstance(knobs, dict):
        return Hyperparameters.parse(dict(knobs))
    changes: dict[str, Any] = dict(record.params)
    if record.seed is not None:
        changes["seed"] = record.seed
        changes["split_seed"] = base.validation_seed
    return base.replace(**changes)


def header(record: TrialRecord, study: str, hp: Hyperparameters) -> str:
    """The comment on top of the file: where the number came from and how to get it again."""
    from tunelab.report.leaderboard import accuracy_text

    epoch = value_epoch(record)
    n_val = record.user_attrs.get("n_val")
    value = record.value if record.value is not None else float("nan")
    measured = accuracy_text(value, n_val if isinstance(n_val, int) else None)
    if record.user_attrs.get("cv_folds"):
        where = (
            f"the mean over {record.user_attrs['cv_folds']} folds at epoch {epoch}; "
            f"epochs is set to {hp.epochs}. One run cannot reproduce a cross-validated mean."
        )
    else:
        where = (
            f"measured with the weights of epoch {epoch if epoch is not None else '?'} of "
            f"{hp.epochs} (the weights the trial kept). `tunelab train DATA --config "
            "THIS_FILE` trains it again with the same knobs, seed (the trial's own) and "
            "validation split (split_seed) and gives the same number on the same machine "
            "and thread count."
        )
    lines = [
        f"Best trial {record.number} of study {study}: validation accuracy {measured},",
        where,
    ]
    return "".join(f"# {line}\n" for line in _wrap(" ".join(lines)))


def write_best_config(
    path: str | Path, record: TrialRecord, base: Hyperparameters, study: str
) -> Path:
    """Write trial ``record``'s knobs to ``path`` (YAML) under an explaining comment."""
    import yaml

    from tunelab.runs.store import atomic_write

    path = Path(path)
    hp = best_hyperparameters(record, base)
    body = yaml.safe_dump(hp.model_dump(mode="json"), sort_keys=False)
    atomic_write(path, header(record, study, hp) + body)
    return path


def _wrap(text: str, width: int = 86) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)
