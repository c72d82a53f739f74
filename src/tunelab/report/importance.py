"""Which knobs mattered: parameter importances of a study, or a note saying why not.

Built on ``optuna.importance.get_param_importances`` with fANOVA by default (a random
forest fitted to the complete trials, then the variance of the value explained by each
knob). Importances from a handful of trials are noise, so below :data:`MIN_TRIALS`
complete trials the answer is a note, not numbers; other cases that cannot be ranked
(nothing searched, every trial scored the same) get a note too, never an error.

>>> result = param_importances(study)  # doctest: +SKIP
>>> result.values  # doctest: +SKIP
{'learning_rate': 0.71, 'batch_size': 0.18, 'dropout': 0.11}
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunelab.errors import unknown_choice

if TYPE_CHECKING:
    import optuna

#: Complete trials needed before importances are worth showing.
MIN_TRIALS = 5

#: Importance evaluators by name (Optuna's classes, in ``optuna.importance``).
EVALUATORS = {
    "fanova": "FanovaImportanceEvaluator",
    "mdi": "MeanDecreaseImpurityImportanceEvaluator",
    "ped-anova": "PedAnovaImportanceEvaluator",
}


@dataclass(frozen=True)
class Importances:
    """Each searched knob's share of the explained variance (summing to 1), or a note."""

    values: dict[str, float] = field(default_factory=dict)
    evaluator: str = "fanova"
    n_trials: int = 0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "importances": dict(self.values),
            "evaluator": self.evaluator,
            "complete_trials": self.n_trials,
            "note": self.note,
        }


def param_importances(
    study: optuna.Study,
    *,
    evaluator: str = "fanova",
    min_trials: int = MIN_TRIALS,
    seed: int = 0,
) -> Importances:
    """The study's parameter importances, most important first; a note when too few trials."""
    import optuna
    from optuna.trial import TrialState

    if evaluator not in EVALUATORS:
        raise unknown_choice("importance evaluator", evaluator, EVALUATORS)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    n = len(complete)
    searched = {name for trial in complete for name in trial.params}
    if not searched and n:
        return Importances(
            {}, evaluator, n, "no knob was searched (all were fixed), so there is nothing to rank."
        )
    if n < min_trials:
        return Importances(
            {},
            evaluator,
            n,
            f"too few complete trials to rank the knobs ({n}; at least {min_trials} needed). "
            f"Run more trials (e.g. --trials 30) or a longer --budget.",
        )
    if len({trial.value for trial in complete}) == 1:
        return Importances(
            {},
            evaluator,
            n,
            "every complete trial scored the same, so no knob made a measurable difference.",
        )
    cls = getattr(optuna.importance, EVALUATORS[evaluator])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's own small-sample warnings; see note
            judge = cls() if evaluator == "ped-anova" else cls(seed=seed)
            values = optuna.importance.get_param_importances(study, evaluator=judge)
    except Exception as err:  # noqa: BLE001 - a note in the report, not a failed study
        return Importances({}, evaluator, n, f"could not rank the knobs ({err}).")
    ranked = sorted(((k, float(v)) for k, v in values.items()), key=lambda kv: -kv[1])
    if not ranked:
        return Importances(
            {}, evaluator, n, "no knob was set in every complete trial, so none can be ranked."
        )
    return Importances(dict(ranked), evaluator, n)
