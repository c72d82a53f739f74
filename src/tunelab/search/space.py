"""Search spaces: which hyperparameters a tuning run varies, and over what range.

A space is a plain ``dict`` from a parameter name to a dimension:

>>> space = {
...     "learning_rate": Float(1e-4, 1e-1, log=True),
...     "batch_size": PowerOfTwo(16, 256),
...     "optimizer": Categorical(["adam", "sgd"]),
...     "epochs": Fixed(10),
... }
>>> grid_size(space, n_per_float=3)
30

The same space comes from CLI strings or a YAML mapping:

>>> parse_range("learning_rate=1e-4:1e-1")
('learning_rate', Float(low=0.0001, high=0.1, log=True))
>>> parse_fix("optimizer=adam")
('optimizer', 'adam')
>>> space_from_dict({"dropout": {"low": 0, "high": 0.5}, "optimizer": "adam"})["optimizer"]
Fixed(value='adam')

This module imports nothing heavy, so command-line parsing stays fast; only
:func:`suggest` touches an Optuna trial.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from tunelab.errors import TunelabError, did_you_mean

if TYPE_CHECKING:
    import optuna

#: Values Optuna can store as a categorical choice.
Choice: TypeAlias = "None | bool | int | float | str"

# A range whose ends are this far apart is searched on a log scale unless told otherwise:
# a learning rate of 1e-4..1e-1 should spend as many trials near 1e-4 as near 1e-1.
AUTO_LOG_RATIO = 100.0


def _number(name: str, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TunelabError(f"{name}: {what} must be a finite number (got {value!r}).")
    return float(value)


def _check_bounds(name: str, low: float, high: float, log: bool) -> None:
    if low == high:
        raise TunelabError(
            f"{name} range is empty: low < high must hold (got low = high = {low:g}). Give a "
            "high above the low, "
            f"e.g. {name}={low:g}:{(high * 10 if high > 0 else high + 1):g}; to keep one "
            f"value, fix it instead: --fix {name}={low:g}."
        )
    if not low < high:
        raise TunelabError(
            f"{name} range must have low < high (got low={low:g}, high={high:g}). "
            f"Swap them: {name}={min(low, high):g}:{max(low, high):g}; "
            f"to keep one value, fix it instead: {name}={low:g}."
        )
    if log and low <= 0:
        raise TunelabError(
            f"{name} range on a log scale needs low > 0 (got low={low:g}). "
            f"Use a small positive low such as {high / 1000:g}, or search it linearly."
        )


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]``; ``log=True`` samples evenly in log space."""

    low: float
    high: float
    log: bool = False

    def check(self, name: str) -> None:
        _check_bounds(
            name, _number(name, "low", self.low), _number(name, "high", self.high), self.log
        )

    def contains(self, value: Any) -> bool:
        return (
            not isinstance(value, bool)
            and isinstance(value, (int, float))
            and self.low <= value <= self.high
        )


@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]`` (both included), every ``step``; ``log`` needs step 1."""

    low: int
    high: int
    log: bool = False
    step: int = 1

    def check(self, name: str) -> None:
        for what, value in (("low", self.low), ("high", self.high), ("step", self.step)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TunelabError(f"{name}: {what} must be a whole number (got {value!r}).")
        _check_bounds(name, self.low, self.high, self.log)
        if self.step < 1:
            raise TunelabError(f"{name}: step must be >= 1 (got {self.step}).")
        if self.log and self.step != 1:
            raise TunelabError(
                f"{name}: a log-scale integer range cannot have a step (got step={self.step}). "
                f"Drop the step, or use PowerOfTwo for 16, 32, 64, ..."
            )

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )


@dataclass(frozen=True)
class Categorical:
    """One of a list of choices (``None``, bools, numbers or strings), in no order."""

    choices: tuple[Choice, ...]

    def __init__(self, choices: Sequence[Choice]) -> None:
        object.__setattr__(
            self, "choices", tuple(choices) if isinstance(choices, (list, tuple)) else choices
        )

    def check(self, name: str) -> None:
        if not isinstance(self.choices, tuple) or not self.choices:
            raise TunelabError(
                f"{name}: choices must be a non-empty list (got {self.choices!r}). "
                f"Example: {name}=adam,sgd."
            )
        for choice in self.choices:
            if choice is not None and not isinstance(choice, (bool, int, float, str)):
                raise TunelabError(
                    f"{name}: choice {choice!r} is a {type(choice).__name__}; choices must be "
                    f"numbers, strings, booleans or null. Join a list into one string, "
                    f"e.g. 'flip+crop'."
                )
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise TunelabError(f"{name}: choices must not repeat (got {list(self.choices)}).")

    def contains(self, value: Any) -> bool:
        return any(type(value) is type(c) and value == c for c in self.choices)


def PowerOfTwo(low: int, high: int) -> Categorical:  # noqa: N802 - reads like a dimension
    """The powers of two from ``low`` to ``high``, e.g. batch sizes 16, 32, ..., 256.

    A categorical, so grid search lists each one and no sampler proposes 48.
    """
    for what, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TunelabError(f"PowerOfTwo {what} must be a whole number >= 1 (got {value!r}).")
        if value & (value - 1):
            below = 1 << (value.bit_length() - 1)
            raise TunelabError(
                f"PowerOfTwo {what} must be a power of two (got {value}); try {below} or "
                f"{below * 2}."
            )
    if not low < high:
        raise TunelabError(f"PowerOfTwo needs low < high (got low={low}, high={high}).")
    return Categorical([1 << k for k in range(low.bit_length() - 1, high.bit_length())])


@dataclass(frozen=True)
class Fixed:
    """A value every trial uses as is: passed to the objective, never searched."""

    value: Any

    def check(self, name: str) -> None:
        pass

    def contains(self, value: Any) -> bool:
        return bool(value == self.value)


Dim: TypeAlias = "Float | Int | Categorical | Fixed"
Space: TypeAlias = "dict[str, Dim]"
_DIMS = (Float, Int, Categorical, Fixed)


def validate_space(space: Mapping[str, Any]) -> dict[str, Dim]:
    """Check every dimension and return the space; constants become :class:`Fixed`."""
    if not isinstance(space, Mapping):
        raise TunelabError(
            f"a search space must be a mapping of name -> range (got {type(space).__name__})."
        )
    checked: dict[str, Dim] = {}
    for name, dim in space.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TunelabError(
                f"search space names must be identifiers like learning_rate (got {name!r})."
            )
        if not isinstance(dim, _DIMS):
            dim = Fixed(dim)
        dim.check(name)
        checked[name] = dim
    if not any(not isinstance(dim, Fixed) for dim in checked.values()):
        raise TunelabError(
            "the search space has nothing to search: every entry is fixed. "
            "Give at least one range, e.g. learning_rate=1e-4:1e-1."
        )
    return checked


def searched(space: Mapping[str, Dim]) -> dict[str, Dim]:
    """The dimensions a sampler chooses (everything but :class:`Fixed`)."""
    return {name: dim for name, dim in space.items() if not isinstance(dim, Fixed)}


def fixed_values(space: Mapping[str, Dim]) -> dict[str, Any]:
    return {name: dim.value for name, dim in space.items() if isinstance(dim, Fixed)}


def suggest(trial: optuna.trial.BaseTrial, space: Mapping[str, Dim]) -> dict[str, Any]:
    """Ask ``trial`` for one value per dimension, in the space's order."""
    params: dict[str, Any] = {}
    for name, dim in space.items():
        if isinstance(dim, Float):
            params[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Int):
            params[name] = trial.suggest_int(name, dim.low, dim.high, step=dim.step, log=dim.log)
        elif isinstance(dim, Categorical):
            params[name] = trial.suggest_categorical(name, dim.choices)
        else:
            params[name] = dim.value
    return params


def check_point(space: Mapping[str, Dim], point: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Validate a (partial) parameter setting against the space; drop fixed entries."""
    out: dict[str, Any] = {}
    for name, value in point.items():
        dim = space.get(name)
        if dim is None:
            raise TunelabError(
                f"{what} sets {name!r}, which is not in the search space."
                f"{did_you_mean(name, space)} Searched: {', '.join(searched(space))}."
            )
        if isinstance(dim, Fixed):
            continue
        if isinstance(dim, Float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not dim.contains(value):
            raise TunelabError(f"{what} sets {name}={value!r}, outside its range {describe(dim)}.")
        out[name] = value
    return out


def jsonable(value: Any) -> Any:
    """``value`` if JSON can store it (as study attributes must be), else its repr."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def describe(dim: Dim) -> str:
    """A short human description, e.g. ``1e-05..0.1 (log)`` or ``one of adam, sgd``."""
    if isinstance(dim, Float):
        return f"{dim.low:g}..{dim.high:g}{' (log)' if dim.log else ''}"
    if isinstance(dim, Int):
        step = f" step {dim.step}" if dim.step != 1 else ""
        return f"{dim.low}..{dim.high} (integer{step}{', log' if dim.log else ''})"
    if isinstance(dim, Categorical):
        return "one of " + ", ".join(str(c) for c in dim.choices)
    return f"fixed at {dim.value!r}"


# ---------------------------------------------------------------- grid search


def grid_points(
    space: Mapping[str, Dim], n_per_float: int = 3, max_per_int: int = 10
) -> dict[str, list[Any]]:
    """The values grid search tries for each searched dimension.

    Floats get ``n_per_float`` evenly spaced values (geometrically when ``log``); integer
    ranges list every value when there are at most ``max_per_int``, else ``n_per_float``
    spread over the range; categoricals list their choices.
    """
    if n_per_float < 2:
        raise TunelabError(f"n_per_float must be >= 2 (got {n_per_float}).")
    grid: dict[str, list[Any]] = {}
    for name, dim in searched(space).items():
        if isinstance(dim, Float):
            grid[name] = _spread(dim.low, dim.high, n_per_float, dim.log)
        elif isinstance(dim, Int):
            values = dim.values()
            if len(values) > max_per_int:
                spread = _spread(dim.low, dim.high, n_per_float, dim.log)
                on_step = (dim.low + round((v - dim.low) / dim.step) * dim.step for v in spread)
                values = sorted({min(dim.high, v) for v in on_step})
            grid[name] = values
        elif isinstance(dim, Categorical):
            grid[name] = list(dim.choices)
    return grid


def grid_size(space: Mapping[str, Dim], n_per_float: int = 3) -> int:
    return math.prod(len(v) for v in grid_points(space, n_per_float).values())


def _spread(low: float, high: float, n: int, log: bool) -> list[Any]:
    if log:
        a, b = math.log(low), math.log(high)
        values = [math.exp(a + (b - a) * i / (n - 1)) for i in range(n)]
        values[0], values[-1] = low, high  # exact ends, no rounding drift outside the range
    else:
        values = [low + (high - low) * i / (n - 1) for i in range(n)]
    return values


# ---------------------------------------------------------------- parsing


def parse_scalar(text: str) -> Any:
    """``"3"`` -> 3, ``"1e-3"`` -> 0.001, ``"true"`` -> True, ``"none"`` -> None, else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def _split_assignment(text: str, what: str, example: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise TunelabError(f"{what} must look like {example} (got {text!r}).")
    if not name.isidentifier():
        raise TunelabError(f"{what}: {name!r} is not a parameter name (in {text!r}).")
    return name, value


def parse_range(text: str) -> tuple[str, Dim]:
    """Parse a CLI range: ``name=low:high[:log|:linear|:pow2]`` or ``name=a,b,c``.

    Integer ends give an :class:`Int`, others a :class:`Float`. Without a scale suffix, a
    positive range spanning at least two decades (``high / low >= 100``) is searched on a
    log scale, so ``learning_rate=1e-4:1e-1`` does what one means.
    """
    example = "learning_rate=1e-4:1e-1 or optimizer=adam,sgd"
    name, body = _split_assignment(text, "a range", example)
    if ":" not in body:
        choices = [parse_scalar(part) for part in body.split(",") if part.strip()]
        if len(choices) < 2:
            raise TunelabError(
                f"a range for {name} needs low:high or at least two choices a,b "
                f"(got {body!r}); to use one value, fix it with {name}={body}."
            )
        dim: Dim = Categorical(choices)
        dim.check(name)
        return name, dim
    parts = [p.strip() for p in body.split(":")]
    scale = parts.pop().lower() if len(parts) == 3 else None
    if len(parts) != 2 or scale not in (None, "log", "linear", "pow2"):
        raise TunelabError(
            f"a range for {name} must be low:high with an optional :log, :linear or :pow2 "
            f"(got {body!r}). Example: {name}=1e-4:1e-1:log."
        )
    low, high = (parse_scalar(p) for p in parts)
    for end in (low, high):
        if isinstance(end, bool) or not isinstance(end, (int, float)):
            raise TunelabError(f"{name}: range ends must be numbers (got {end!r} in {text!r}).")
    if scale == "pow2":
        if not (isinstance(low, int) and isinstance(high, int)):
            raise TunelabError(f"{name}: :pow2 needs whole-number ends (got {body!r}).")
        return name, PowerOfTwo(low, high)
    if scale is None:
        log = 0 < low < high and high / low >= AUTO_LOG_RATIO
    else:
        log = scale == "log"
    if isinstance(low, int) and isinstance(high, int):
        dim = Int(low, high, log=log)
    else:
        dim = Float(float(low), float(high), log=log)
    dim.check(name)
    return name, dim


def parse_fix(text: str) -> tuple[str, Any]:
    """Parse a CLI fixed value: ``optimizer=adam`` -> ``("optimizer", "adam")``."""
    name, value = _split_assignment(text, "a fixed value", "optimizer=adam")
    return name, parse_scalar(value)


def parse_space(ranges: Sequence[str] = (), fixes: Sequence[str] = ()) -> dict[str, Dim]:
    """Build a space from ``--range`` and ``--fix`` strings; a name may appear once."""
    space: dict[str, Dim] = {}
    entries = [parse_range(t) for t in ranges] + [(n, Fixed(v)) for n, v in map(parse_fix, fixes)]
    for name, dim in entries:
        if name in space:
            raise TunelabError(f"{name} is given twice; keep one range or one fixed value.")
        space[name] = dim
    return validate_space(space)


_RANGE_KEYS = {"low", "high", "log", "step", "type"}


def space_from_dict(data: Mapping[str, Any]) -> dict[str, Dim]:
    """Build a space from a mapping, as read from YAML or JSON.

    Each entry is ``{low, high[, log][, step][, type: int|float|pow2]}``, ``{choices: [...]}``,
    ``{value: x}`` or a bare value (fixed). Integer ``low`` and ``high`` give an integer range.
    """
    if not isinstance(data, Mapping):
        raise TunelabError(
            f"a search space file must map names to ranges (got {type(data).__name__})."
        )
    space: dict[str, Dim] = {}
    for name, entry in data.items():
        if not isinstance(entry, Mapping):
            space[name] = Fixed(entry)
            continue
        keys = set(entry)
        if keys == {"choices"}:
            choices = entry["choices"]
            if not isinstance(choices, list):
                raise TunelabError(f"{name}: choices must be a list (got {choices!r}).")
            space[name] = Categorical(choices)
        elif keys == {"value"}:
            space[name] = Fixed(entry["value"])
        elif {"low", "high"} <= keys <= _RANGE_KEYS:
            space[name] = _range_from_entry(name, entry)
        else:
            unknown = sorted(keys - _RANGE_KEYS - {"choices", "value"})
            hint = did_you_mean(unknown[0], _RANGE_KEYS | {"choices", "value"}) if unknown else ""
            raise TunelabError(
                f"{name}: give low and high (with optional log, step, type), or choices, or "
                f"value (got keys {', '.join(sorted(map(str, keys)))}).{hint}"
            )
    return validate_space(space)


def _range_from_entry(name: str, entry: Mapping[str, Any]) -> Dim:
    low, high, log = entry["low"], entry["high"], entry.get("log", False)
    kind = entry.get("type")
    if not isinstance(log, bool):
        raise TunelabError(f"{name}: log must be true or false (got {log!r}).")
    if kind == "pow2":
        return PowerOfTwo(low, high)
    if kind not in (None, "int", "float"):
        raise TunelabError(f"{name}: type must be int, float or pow2 (got {kind!r}).")
    if kind == "int" or (
        kind is None and all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high))
    ):
        return Int(low, high, log=log, step=entry.get("step", 1))
    if "step" in entry:
        raise TunelabError(f"{name}: step applies to integer ranges only; drop it or use ints.")
    return Float(_number(name, "low", low), _number(name, "high", high), log=log)


def space_to_dict(space: Mapping[str, Dim]) -> dict[str, Any]:
    """The inverse of :func:`space_from_dict` (JSON-friendly, for storing with a study)."""
    out: dict[str, Any] = {}
    for name, dim in space.items():
        if isinstance(dim, Float):
            out[name] = {"low": dim.low, "high": dim.high, "log": dim.log, "type": "float"}
        elif isinstance(dim, Int):
            out[name] = {"low": dim.low, "high": dim.high, "log": dim.log, "step": dim.step}
            out[name]["type"] = "int"
        elif isinstance(dim, Categorical):
            out[name] = {"choices": list(dim.choices)}
        else:
            out[name] = {"value": dim.value}
    return out
