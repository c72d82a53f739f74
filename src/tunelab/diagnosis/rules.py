"""The checks in the order they are tried, and the second problem when there is one.

The first check that fires names the main problem. The ones that can also hold (a run
can overfit and swing, or be too noisy and plateau) are tried after it; those that fire
are listed in :attr:`Diagnosis.secondary` and mentioned in one "Also: ..." clause.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tunelab.diagnosis import fit, noise, rate
from tunelab.diagnosis.base import Diagnosis, num, pct
from tunelab.diagnosis.curves import Curves

Check = Callable[[Curves, Mapping[str, Any]], Diagnosis | None]

# After the checks about runs that learned nothing (see diagnose), in this order.
ORDER: tuple[Check, ...] = (
    fit.too_few,
    fit.memorised,
    noise.noisy_batch,
    noise.oscillating,
    fit.overfitting,
    fit.still_improving,
    rate.too_high,
    fit.underfitting,
    fit.still_learning,
)
# The problems that can come second to another one.
SECONDARY: tuple[Check, ...] = (
    fit.overfitting,
    noise.noisy_batch,
    noise.oscillating,
    rate.too_high,
    fit.underfitting,
)


def first(c: Curves, hp: Mapping[str, Any]) -> Diagnosis:
    for check in ORDER:
        found = check(c, hp)
        if found is not None:
            return found
    return fit.good_fit(c, hp)


def add_secondary(main: Diagnosis, c: Curves, hp: Mapping[str, Any]) -> None:
    """Name the other problems the curves show, after the main one."""
    if main.verdict not in {
        "overfitting",
        "oscillating",
        "noisy-batch",
        "too-high",
        "underfitting",
    }:
        return
    seen = _family(main.verdict)
    for check in SECONDARY:
        other = check(c, hp)
        if other is None or other.verdict in seen:
            continue
        seen |= _family(other.verdict)
        main.secondary.append(
            {"verdict": other.verdict, "text": _clause(other, c, hp), "next_step": other.next_step}
        )
    if main.secondary:
        clauses = "; ".join(item["text"] for item in main.secondary)
        main.text += f" Also: {clauses}."


def _family(verdict: str) -> set[str]:
    """Verdicts that name one problem with two causes: only one of them is said."""
    for family in ({"too-high", "underfitting"}, {"oscillating", "noisy-batch"}):
        if verdict in family:
            return set(family)
    return {verdict}


def _clause(d: Diagnosis, c: Curves, hp: Mapping[str, Any]) -> str:
    e = d.evidence
    if d.verdict == "overfitting":
        what = (
            f"it overfits (validation loss {num(e['best_val_loss'])} at epoch "
            f"{e['best_epoch']}, {num(e['final_val_loss'])} at the end)"
        )
    elif d.verdict == "noisy-batch":
        what = f"the batch loss is very noisy (spread {e['batch_noise']:.1f}x its mean)"
    elif d.verdict == "oscillating":
        what = "the loss swings between epochs"
    elif d.verdict == "too-high":
        what = f"learning rate {num(e['learning_rate'])} is high for {hp.get('optimizer')}"
    else:
        what = f"training accuracy is only {pct(c.train_acc[-1])} and flat"
    steps = ", ".join(f"{knob} {_value(value)}" for knob, value in d.next_step.items())
    return f"{what}; next: {steps}" if steps else what


def _value(value: Any) -> str:
    if isinstance(value, float):
        return num(value)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
