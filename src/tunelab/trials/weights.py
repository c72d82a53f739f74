"""Weights kept for the best: only a study's top K trials keep ``model.safetensors``.

Every trial is an ordinary run, and a tuning study can hold hundreds of them; their
curves, metrics and summaries are small, their weights are not. After each trial
:class:`KeepBestWeights` deletes the weights of every finished trial that is not among
the best ``keep`` complete ones (pruned, failed and out-ranked trials), so a trial's
weights go as soon as it falls out of the top K. Running trials are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunelab.errors import TunelabError
from tunelab.search.results import ranked

if TYPE_CHECKING:
    import optuna

    from tunelab.search.results import TrialRecord

#: How many trials keep their weights unless told otherwise (``--keep-weights``).
DEFAULT_KEEP = 5

_FINISHED = ("complete", "pruned", "fail")


#: File left in a trial's run folder when its weights were dropped, saying why.
REMOVED_NOTE = "weights-removed.txt"


def check_keep(keep: Any) -> int:
    """``keep`` as a whole number >= 0, or a one-line error."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise TunelabError(
            f"keep_weights must be a whole number >= 0 (got {keep!r}): the number of best "
            f"trials that keep their weights. Try {DEFAULT_KEEP}; 0 keeps none."
        )
    return keep


def trial_runs(record: TrialRecord) -> list[str]:
    """The run names a trial wrote: one, or one per fold with cross-validation."""
    runs = record.user_attrs.get("runs")
    if isinstance(runs, list):
        return [str(name) for name in runs]
    run = record.user_attrs.get("run")
    return [str(run)] if run else []


def drop_weights(
    records: Iterable[TrialRecord], root: str | Path, keep: int, maximize: bool = True
) -> list[Path]:
    """Delete the weights of finished trials outside the best ``keep``; return what went."""
    from tunelab.runs.store import check_name

    records = list(records)
    kept = {r.number for r in ranked(records, maximize)[:keep]}
    removed = []
    for record in records:
        if record.state not in _FINISHED or record.number in kept:
            continue
        for name in trial_runs(record):
            try:
                check_name(name)
            except TunelabError:
                continue  # not a name this store wrote; never follow it out of the store
            path = Path(root) / name / "model.safetensors"
            if path.is_file():
                path.unlink(missing_ok=True)
                note = path.with_name(REMOVED_NOTE)
                note.write_text(f"not among the best {keep} trials of its study (--keep-weights)\n")
                removed.append(path)
    return removed


class KeepBestWeights:
    """An Optuna callback: after each trial, only the best ``keep`` trials keep weights.

    Picklable (plain attributes), so it runs in worker processes too; two workers
    deleting the same file is harmless.

    >>> keeper = KeepBestWeights("tunelab-runs", keep=3)
    >>> tune(objective, space, n_trials=20, callbacks=[keeper])  # doctest: +SKIP
    """

    def __init__(self, root: str | Path, keep: int = DEFAULT_KEEP) -> None:
        self.root = str(root)
        self.keep = check_keep(keep)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.apply(study)

    def apply(self, study: optuna.Study) -> list[Path]:
        """Drop the weights that fell out of the top ``keep`` in ``study`` now."""
        from tunelab.search.results import TrialRecord

        records = [TrialRecord.from_frozen(t) for t in study.get_trials(deepcopy=False)]
        maximize = study.direction.name == "MAXIMIZE"
        return drop_weights(records, self.root, self.keep, maximize)
