"""Recommended sweep values for every kind of knob, and validation of given values."""

from __future__ import annotations

import pytest

from tunelab.errors import TunelabError
from tunelab.explore.ladders import LADDERS, knob_name, ladder, ladder_around, one_three_ten
from tunelab.explore.sweep import parse_values, plan_values
from tunelab.knobs import Hyperparameters, choices
from tunelab.runs.store import value_slug


@pytest.mark.parametrize(
    ("knob", "current", "expected"),
    [
        ("learning_rate", None, [0.001, 0.003, 0.01, 0.03, 0.1]),
        ("learning_rate", 0.003, [0.0003, 0.001, 0.003, 0.01, 0.03]),
        ("learning_rate", 0.005, [0.001, 0.003, 0.005, 0.01, 0.03]),  # off the 1-3-10 grid
        ("learning_rate", 10.0, [0.1, 0.3, 1.0, 3.0, 10.0]),  # slides in at the top
        ("batch_size", None, [8, 16, 32, 64, 128]),
        ("batch_size", 2, [1, 2, 4, 8, 16]),
        ("batch_size", 48, [12, 24, 48, 96, 192]),
        ("epochs", None, [5, 10, 20, 40]),
        ("epochs", 1, [1, 2, 4, 8]),
        ("epochs", 3, [2, 3, 6, 12]),
        ("dropout", None, [0.0, 0.1, 0.25, 0.5]),
        ("dropout", 0.25, [0.1, 0.25, 0.5, 0.75]),
        ("dropout", 0.3, [0.25, 0.3, 0.5, 0.75]),
        ("weight_decay", None, [0.0, 1e-5, 1e-4, 1e-3]),
        ("weight_decay", 1e-4, [0.0, 1e-5, 1e-4, 1e-3, 1e-2]),
        ("validation_fraction", None, [0.15, 0.2, 0.25, 0.3, 0.4]),
        ("validation_fraction", 0.1, [0.1, 0.15, 0.2, 0.25, 0.3]),
        ("momentum", None, [0.5, 0.8, 0.9, 0.95, 0.99]),
        ("gradient_clip", None, [None, 0.3, 1.0, 3.0]),
        ("gradient_clip", 2.0, [None, 1.0, 2.0, 3.0]),
        ("seed", 7, [7, 8, 9, 10, 11]),
        ("early_stopping_patience", None, [0, 3, 5, 10]),
        ("nesterov", None, [False, True]),
    ],
)
def test_numeric_and_boolean_ladders(knob: str, current, expected: list) -> None:
    values = ladder(knob) if current is None else ladder(knob, current)
    assert values == pytest.approx(expected) if None not in expected else values == expected
    if current is not None:
        assert any(v == pytest.approx(current) for v in values if v is not None)


def test_ladder_values_are_written_as_on_the_grid() -> None:
    assert ladder("learning_rate", 0.003)[0] == 0.0003  # not 0.00030000000000000003
    assert [str(v) for v in ladder("learning_rate")] == ["0.001", "0.003", "0.01", "0.03", "0.1"]


@pytest.mark.parametrize("knob", ["model", "optimizer", "loss", "activation", "schedule"])
def test_categorical_knobs_run_every_choice(knob: str) -> None:
    assert ladder(knob) == list(choices(knob))
    assert ladder(knob, choices(knob)[-1]) == list(choices(knob))


def test_augment_ladder_is_none_each_alone_and_the_current_set() -> None:
    assert ladder("augment") == [[], *([name] for name in choices("augment"))]
    assert ladder("augment", ["flip", "rot90"])[-1] == ["flip", "rot90"]


def test_every_ladder_value_is_a_valid_knob_value() -> None:
    hp = Hyperparameters()
    for knob in LADDERS:
        for value in ladder_around(knob, hp):
            hp.replace(**{knob: value})


def test_ladder_around_uses_the_current_value() -> None:
    hp = Hyperparameters(learning_rate=0.003, batch_size=16)
    assert ladder_around("learning_rate", hp)[2] == 0.003
    assert ladder_around("batch-size", hp) == [4, 8, 16, 32, 64]


def test_one_three_ten() -> None:
    assert one_three_ten(0.001, 0.1) == [0.001, 0.003, 0.01, 0.03, 0.1]


@pytest.mark.parametrize("knob", ["device", "precision", "threads", "input_height"])
def test_knobs_without_a_ladder_ask_for_values(knob: str) -> None:
    with pytest.raises(
        TunelabError, match=rf"no recommended ladder of values for {knob}.*--values"
    ):
        ladder(knob)


def test_unknown_knob_has_did_you_mean() -> None:
    with pytest.raises(TunelabError, match='unknown hyperparameter .*Did you mean "learning_rate"'):
        ladder("learnig_rate")
    assert knob_name("Learning-Rate") == "learning_rate"


def test_parse_values_reads_numbers_names_none_and_augment_sets() -> None:
    assert parse_values("learning_rate", "0.001, 1e-2,0.1") == [0.001, 0.01, 0.1]
    assert parse_values("optimizer", "adam,sgd") == ["adam", "sgd"]
    assert parse_values("gradient_clip", "none,1") == [None, 1]
    assert parse_values("augment", "none,flip,flip+rot90") == [[], ["flip"], ["flip", "rot90"]]
    with pytest.raises(TunelabError, match="empty value"):
        parse_values("learning_rate", "0.1,,0.2")


def test_plan_values_validates_every_value_before_running() -> None:
    hp = Hyperparameters()
    planned = plan_values("learning_rate", "0.001,0.01", hp)
    assert [value for value, _ in planned] == [0.001, 0.01]
    assert planned[1][1].learning_rate == 0.01 and planned[1][1].epochs == hp.epochs
    with pytest.raises(TunelabError, match="invalid learning_rate: got -1"):
        plan_values("learning_rate", "0.01,-1", hp)
    with pytest.raises(TunelabError, match="invalid learning_rate: got 'fast'"):
        plan_values("learning_rate", ["fast"], hp)
    with pytest.raises(TunelabError, match='Did you mean "adam"'):
        plan_values("optimizer", "sgd,adma", hp)
    with pytest.raises(TunelabError, match="given twice"):
        plan_values("epochs", "2,2.0", hp)
    with pytest.raises(TunelabError, match="no values"):
        plan_values("epochs", [], hp)


def test_value_slug_fits_run_names() -> None:
    assert [value_slug(v) for v in (0.003, 1e-05, None, True, ["flip", "rot90"], [], "adam")] == [
        "0.003",
        "1e-05",
        "none",
        "true",
        "flip_rot90",
        "none",
        "adam",
    ]
