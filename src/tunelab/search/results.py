"""What a tuning run returns: one record per trial and a summary of the study."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

#: Why ``tune`` returned. "callback": a user callback called ``study.stop()``;
#: "no-workers": ``workers=0`` recorded the study for workers elsewhere and ran nothing;
#: "failing": trials failed one after another (``tune`` raises then, naming the first error).
STOP_REASONS = (
    "n_trials",
    "budget",
    "interrupted",
    "exhausted",
    "callback",
    "no-workers",
    "failing",
)

#: Trial statuses (user attribute ``status``) whose trial counts towards ``n_trials``:
#: the objective ran to an end of its own. "interrupted" (Ctrl-C) and "abandoned" (the
#: process died) trials do not count; they are run again on resume.
COUNTED_STATUSES = frozenset({"complete", "pruned", "budget", "diverged", "error"})


@dataclass(frozen=True)
class TrialRecord:
    """One trial, with plain Python values (no Optuna types).

    ``state`` is Optuna's (complete, pruned, fail, running, waiting); ``status`` is
    tunelab's finer account: complete, pruned, budget (stopped when time ran out),
    diverged (NaN/inf), error (the objective raised; see ``error``), interrupted
    (Ctrl-C) or abandoned (its process died).
    """

    number: int
    params: dict[str, Any]
    value: float | None
    state: str
    status: str
    duration: float | None
    intermediate_values: dict[int, float]
    seed: int | None = None
    error: str | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_frozen(cls, trial: optuna.trial.FrozenTrial) -> TrialRecord:
        attrs = dict(trial.user_attrs)
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        state = trial.state.name.lower()
        return cls(
            number=trial.number,
            params={**attrs.get("fixed_params", {}), **trial.params},
            value=trial.value if trial.values is not None else None,
            state=state,
            status=attrs.get("status", {"fail": "abandoned"}.get(state, state)),
            duration=duration,
            intermediate_values=dict(trial.intermediate_values),
            seed=attrs.get("seed"),
            error=attrs.get("error"),
            user_attrs=attrs,
        )

    @property
    def counted(self) -> bool:
        return self.status in COUNTED_STATUSES and self.state in ("complete", "pruned", "fail")


@dataclass
class TuneResult:
    """The outcome of :func:`tunelab.search.tune`.

    ``best_*`` describe the best *complete* trial (None when no trial completed): a trial
    stopped early has not shown what it reaches at the end. Open the study with Optuna's
    own API through :meth:`study` (or ``optuna.load_study(study_name=..., storage=...)``).
    """

    best_params: dict[str, Any] | None
    best_value: float | None
    best_trial_number: int | None
    trials: list[TrialRecord]
    study_name: str
    storage: str | None
    stopped_reason: str
    elapsed_seconds: float
    direction: str = "maximize"
    strategy: str = ""
    pruner: str = ""
    #: Image tunes: the run mixing the best trials (tunelab.trials.ensemble), or None;
    #: ``ensemble_note`` is the line that describes it, or says why there is none.
    ensemble: str | None = None
    ensemble_note: str = ""
    _study: optuna.Study | None = field(default=None, repr=False, compare=False)

    def study(self) -> optuna.Study:
        """The Optuna study, reloaded from storage (or the in-memory one)."""
        if self.storage is None:
            if self._study is None:
                raise RuntimeError("this result kept no study (it lived in memory)")
            return self._study
        import optuna

        return optuna.load_study(study_name=self.study_name, storage=self.storage)

    def summary(self) -> str:
        """One paragraph for a terminal: counts, best trial, why it stopped."""
        started = [t for t in self.trials if t.state != "waiting"]
        queued = len(self.trials) - len(started)
        counts = Counter(t.status for t in started)
        parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        text = (
            f"study {self.study_name}: {len(started)} trial{'' if len(started) == 1 else 's'} "
            f"({parts}) in "
            f"{self.elapsed_seconds:.1f} s with {self.strategy} + {self.pruner}; "
            f"stopped: {self.stopped_reason}."
        )
        if queued:  # portfolio points or retries not reached: a resume runs them first
            text += f" {queued} queued {'trial' if queued == 1 else 'trials'} not started."
        if self.best_trial_number is None:
            return text + " No trial completed."
        params = ", ".join(f"{k}={_short(v)}" for k, v in (self.best_params or {}).items())
        return text + f" Best {self.best_value:.6g} (trial {self.best_trial_number}): {params}."


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def build_result(
    study: optuna.Study,
    *,
    storage: str | None,
    stopped_reason: str,
    elapsed_seconds: float,
    strategy: str,
    pruner: str,
) -> TuneResult:
    records = [TrialRecord.from_frozen(t) for t in study.get_trials(deepcopy=False)]
    complete = [r for r in records if r.state == "complete" and r.value is not None]
    maximize = study.direction.name == "MAXIMIZE"
    best = None
    if complete:
        best = (max if maximize else min)(complete, key=lambda r: r.value or 0.0)
    return TuneResult(
        best_params=dict(best.params) if best else None,
        best_value=best.value if best else None,
        best_trial_number=best.number if best else None,
        trials=records,
        study_name=study.study_name,
        storage=storage,
        stopped_reason=stopped_reason,
        elapsed_seconds=elapsed_seconds,
        direction="maximize" if maximize else "minimize",
        strategy=strategy,
        pruner=pruner,
        _study=study,
    )


def ranked(records: Iterable[TrialRecord], maximize: bool = True) -> list[TrialRecord]:
    """Complete trials, best first; ties go to the earlier trial."""
    complete = [r for r in records if r.state == "complete" and r.value is not None]
    return sorted(complete, key=lambda r: -(r.value or 0.0) if maximize else (r.value or 0.0))
