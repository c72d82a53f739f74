"""Search spaces: dimensions, validation messages, grids, and the CLI / YAML parsers."""

from __future__ import annotations

import math

import optuna
import pytest

from tunelab.errors import TunelabError
from tunelab.search.space import (
    Categorical,
    Fixed,
    Float,
    Int,
    PowerOfTwo,
    check_point,
    grid_points,
    grid_size,
    parse_fix,
    parse_range,
    parse_space,
    space_from_dict,
    space_to_dict,
    suggest,
    validate_space,
)


@pytest.mark.parametrize(
    ("dim", "message"),
    [
        (Float(0.1, 0.01), "low < high"),
        (Float(0.1, 0.1), "low < high"),
        (Float(0.0, 1.0, log=True), "log scale needs low > 0"),
        (Float(math.nan, 1.0), "finite number"),
        (Int(5, 1), "low < high"),
        (Int(0, 10, log=True), "log scale needs low > 0"),
        (Int(1, 10, step=0), "step must be >= 1"),
        (Int(1, 64, log=True, step=2), "cannot have a step"),
        (Int(1.5, 3), "whole number"),  # type: ignore[arg-type]
        (Categorical([]), "non-empty"),
        (Categorical(["a", "a"]), "must not repeat"),
        (Categorical([["flip", "crop"]]), "Join a list"),  # type: ignore[list-item]
    ],
)
def test_invalid_dimensions_say_what_and_how(dim, message):
    with pytest.raises(TunelabError, match=message) as info:
        validate_space({"knob": dim})
    assert str(info.value).startswith("knob")
    assert "\n" not in str(info.value)


def test_swapped_range_suggests_the_fix():
    with pytest.raises(TunelabError, match=r"Swap them: learning_rate=0.0001:0.1"):
        validate_space({"learning_rate": Float(0.1, 1e-4, log=True)})


def test_space_needs_something_to_search_and_identifier_names():
    with pytest.raises(TunelabError, match="nothing to search"):
        validate_space({"optimizer": "adam"})
    with pytest.raises(TunelabError, match="identifiers"):
        validate_space({"learning rate": Float(0, 1)})
    with pytest.raises(TunelabError, match="mapping"):
        validate_space([("x", Float(0, 1))])  # type: ignore[arg-type]


def test_bare_values_become_fixed():
    space = validate_space({"x": Float(0, 1), "optimizer": "adam"})
    assert space["optimizer"] == Fixed("adam")


def test_power_of_two():
    assert PowerOfTwo(16, 256).choices == (16, 32, 64, 128, 256)
    with pytest.raises(TunelabError, match="try 32 or 64"):
        PowerOfTwo(48, 256)
    with pytest.raises(TunelabError, match="low < high"):
        PowerOfTwo(64, 16)


def test_suggest_uses_each_dimension_and_passes_fixed_values():
    space = validate_space(
        {
            "lr": Float(1e-4, 1e-1, log=True),
            "units": Int(8, 64, step=8),
            "opt": Categorical(["adam", "sgd"]),
            "epochs": Fixed(5),
        }
    )
    trial = optuna.trial.FixedTrial({"lr": 0.01, "units": 16, "opt": "sgd"})
    assert suggest(trial, space) == {"lr": 0.01, "units": 16, "opt": "sgd", "epochs": 5}


def test_grid_points():
    space = validate_space(
        {
            "lr": Float(1e-4, 1e-2, log=True),
            "drop": Float(0.0, 0.5),
            "layers": Int(1, 4),
            "units": Int(8, 512, log=True),
            "opt": Categorical(["adam", "sgd"]),
            "epochs": 3,
        }
    )
    grid = grid_points(space)
    assert grid["lr"] == pytest.approx([1e-4, 1e-3, 1e-2])
    assert grid["lr"][0] == 1e-4 and grid["lr"][-1] == 1e-2  # ends exact, inside the range
    assert grid["drop"] == [0.0, 0.25, 0.5]
    assert grid["layers"] == [1, 2, 3, 4]
    assert grid["units"] == [8, 64, 512]
    assert grid["opt"] == ["adam", "sgd"]
    assert "epochs" not in grid
    assert grid_size(space) == 3 * 3 * 4 * 3 * 2
    assert len(grid_points(space, n_per_float=5)["drop"]) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("learning_rate=1e-4:1e-1", ("learning_rate", Float(1e-4, 1e-1, log=True))),
        ("dropout=0:0.5", ("dropout", Float(0.0, 0.5))),
        ("momentum=0.5:0.99:linear", ("momentum", Float(0.5, 0.99))),
        ("weight_decay=1e-5:1e-3:log", ("weight_decay", Float(1e-5, 1e-3, log=True))),
        ("learning_rate=0.001:0.1:linear", ("learning_rate", Float(0.001, 0.1))),
        ("epochs=2:20", ("epochs", Int(2, 20))),
        ("units=8:1024", ("units", Int(8, 1024, log=True))),
        ("units=16:1024", ("units", Int(16, 1024))),
        ("batch_size=16:256:pow2", ("batch_size", PowerOfTwo(16, 256))),
        ("optimizer=adam,sgd, momentum", ("optimizer", Categorical(["adam", "sgd", "momentum"]))),
        ("nesterov=true,false", ("nesterov", Categorical([True, False]))),
        ("dropout=0,0.25,0.5", ("dropout", Categorical([0, 0.25, 0.5]))),
    ],
)
def test_parse_range(text, expected):
    assert parse_range(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("learning_rate", "must look like"),
        ("=1:2", "must look like"),
        ("learning_rate=", "must look like"),
        ("learning rate=1:2", "not a parameter name"),
        ("learning_rate=0.1:0.001", "low < high"),
        ("learning_rate=0:0.1:log", "log scale needs low > 0"),
        ("learning_rate=1:2:3:4", "optional :log"),
        ("learning_rate=1:2:cubic", "optional :log"),
        ("learning_rate=a:b", "ends must be numbers"),
        ("optimizer=adam", "at least two choices"),
        ("batch_size=16:100:pow2", "power of two"),
    ],
)
def test_parse_range_errors(text, message):
    with pytest.raises(TunelabError, match=message):
        parse_range(text)


def test_parse_fix_and_parse_space():
    assert parse_fix("optimizer=adam") == ("optimizer", "adam")
    assert parse_fix("epochs=10") == ("epochs", 10)
    assert parse_fix("dropout=0.5") == ("dropout", 0.5)
    assert parse_fix("nesterov=True") == ("nesterov", True)
    assert parse_fix("gradient_clip=none") == ("gradient_clip", None)
    space = parse_space(["learning_rate=1e-4:1e-1"], ["optimizer=adam"])
    assert space == {"learning_rate": Float(1e-4, 1e-1, log=True), "optimizer": Fixed("adam")}
    with pytest.raises(TunelabError, match="given twice"):
        parse_space(["learning_rate=1e-4:1e-1"], ["learning_rate=0.01"])
    with pytest.raises(TunelabError, match="nothing to search"):
        parse_space([], ["optimizer=adam"])


def test_space_from_dict_reads_yaml_shapes():
    space = space_from_dict(
        {
            "learning_rate": {"low": 1e-4, "high": 1e-1, "log": True},
            "units": {"low": 16, "high": 128, "step": 16},
            "batch_size": {"low": 16, "high": 128, "type": "pow2"},
            "dropout": {"low": 0, "high": 0.5, "type": "float"},
            "optimizer": {"choices": ["adam", "sgd"]},
            "epochs": 10,
            "augment": {"value": ["flip"]},
        }
    )
    assert space == {
        "learning_rate": Float(1e-4, 1e-1, log=True),
        "units": Int(16, 128, step=16),
        "batch_size": PowerOfTwo(16, 128),
        "dropout": Float(0.0, 0.5),
        "optimizer": Categorical(["adam", "sgd"]),
        "epochs": Fixed(10),
        "augment": Fixed(["flip"]),
    }
    assert space_from_dict(space_to_dict(space)) == space


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lr": {"low": 0.1, "hgih": 1}}, 'Did you mean "high"'),
        ({"lr": {"low": 0.1, "high": 1, "log": "yes"}}, "log must be true or false"),
        ({"lr": {"low": 0.1, "high": 1, "step": 2}}, "step applies to integer"),
        ({"lr": {"low": 0.1, "high": 1, "type": "double"}}, "type must be"),
        ({"opt": {"choices": "adam"}}, "choices must be a list"),
        ({"lr": {"low": "a", "high": 1}}, "finite number"),
        (["lr"], "must map names"),
    ],
)
def test_space_from_dict_errors(data, message):
    with pytest.raises(TunelabError, match=message):
        space_from_dict(data)


def test_check_point():
    space = validate_space({"lr": Float(1e-4, 1e-1, log=True), "opt": Categorical(["a", "b"])})
    assert check_point(space, {"lr": 0.01}, "initial point 1") == {"lr": 0.01}
    with pytest.raises(TunelabError, match='Did you mean "lr"'):
        check_point(space, {"lrr": 0.01}, "initial point 1")
    with pytest.raises(TunelabError, match=r"lr=0.5, outside its range 0.0001..0.1 \(log\)"):
        check_point(space, {"lr": 0.5}, "initial point 1")
    with pytest.raises(TunelabError, match="opt='c'"):
        check_point(space, {"opt": "c"}, "initial point 2")


def test_module_examples_run():
    import doctest

    import tunelab.search.space as module

    assert doctest.testmod(module).failed == 0
