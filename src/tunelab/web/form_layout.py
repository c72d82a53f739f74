"""How the Train form is laid out for a person: the few knobs that matter first, and which
knobs do anything for the current choices (momentum only with the momentum optimizer,
focal gamma only with the focal loss, schedule settings only with their schedule).

The optimizer conditions come from the optimizer registry's own flags (``uses_momentum``,
``uses_nesterov``, ``uses_betas``); the rest name choices of the knob model, and a test
checks every name against the registries.
"""

from __future__ import annotations

from typing import Any

#: Shown first, as Piximi does: what nearly every user sets.
ESSENTIAL = ("model", "optimizer", "learning_rate", "batch_size", "epochs", "validation_fraction")

#: knob -> the condition under which it has an effect: another knob's value ``in`` a list,
#: or ``not_in`` a list (``None`` is "unset").
_FIXED: dict[str, dict[str, Any]] = {
    "label_smoothing": {"knob": "loss", "in": ["label-smoothing"]},
    "focal_gamma": {"knob": "loss", "in": ["focal"]},
    "schedule_step_epochs": {"knob": "schedule", "in": ["step"]},
    "schedule_gamma": {"knob": "schedule", "in": ["step", "reduce-on-plateau"]},
    "plateau_patience": {"knob": "schedule", "in": ["reduce-on-plateau"]},
    "restore_best_weights": {"knob": "early_stopping_patience", "not_in": [0]},
    "freeze_epochs": {"knob": "init_from", "not_in": [None, ""]},
    "backbone_lr_factor": {"knob": "init_from", "not_in": [None, ""]},
}


def applies() -> dict[str, dict[str, Any]]:
    """Every knob that only sometimes has an effect, with its condition."""
    from tunelab.training.optimizers import OPTIMIZERS

    def optimizers(flag: str) -> dict[str, Any]:
        return {"knob": "optimizer", "in": [n for n, i in OPTIMIZERS.items() if getattr(i, flag)]}

    return {
        "momentum": optimizers("uses_momentum"),
        "nesterov": optimizers("uses_nesterov"),
        "beta1": optimizers("uses_betas"),
        "beta2": optimizers("uses_betas"),
        **_FIXED,
    }


def holds(condition: dict[str, Any], values: dict[str, Any]) -> bool:
    """Whether ``condition`` is met by the form's ``values`` (the page does the same)."""
    value = values.get(condition["knob"])
    if "in" in condition:
        return value in condition["in"]
    return value not in condition["not_in"]


def layout() -> dict[str, Any]:
    return {"essential": list(ESSENTIAL), "applies": applies()}
