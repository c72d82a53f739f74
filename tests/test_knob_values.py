"""Every value a knob can take belongs to the model: ``learning_rate: auto``, the rules
across knobs, and the limits the factories check (one set of rules)."""

from __future__ import annotations

import pytest

from tunelab.errors import TunelabError
from tunelab.knobs import (
    Hyperparameters,
    KnobErrors,
    accepts_auto,
    as_hyperparameters,
    bounds,
    check_numbers,
    choices,
)


@pytest.mark.parametrize("given", ["auto", "AUTO", " auto ", "Auto"])
def test_learning_rate_auto_is_a_value_of_the_model(given: str) -> None:
    hp = Hyperparameters.parse({"learning_rate": given})
    assert hp.learning_rate == "auto" and hp.auto_learning_rate
    assert Hyperparameters.parse(hp.model_dump(mode="json")).learning_rate == "auto"
    assert not Hyperparameters(learning_rate=0.01).auto_learning_rate


def test_learning_rate_is_a_number_or_auto_and_nothing_else() -> None:
    assert Hyperparameters.parse({"learning_rate": "0.003"}).learning_rate == 0.003
    for bad in (0, -0.01, 11, "fast", "automatic"):
        with pytest.raises(TunelabError, match="invalid learning_rate"):
            Hyperparameters.parse({"learning_rate": bad})
    with pytest.raises(TunelabError, match='Did you mean "auto"'):
        Hyperparameters.parse({"learning_rate": "atuo"})
    assert accepts_auto("learning_rate") and not accepts_auto("precision")
    assert choices("learning_rate") == ()  # a number, not a categorical knob
    assert bounds("learning_rate") == {"gt": 0.0, "le": 10.0}


def test_auto_round_trips_through_a_config_file(tmp_path) -> None:
    path = Hyperparameters(learning_rate="auto", epochs=3).save(tmp_path / "c.yaml")
    assert Hyperparameters.load(path).learning_rate == "auto"


def test_every_bad_field_is_named_from_one_validation() -> None:
    with pytest.raises(KnobErrors) as caught:
        Hyperparameters.parse(
            {"learnign_rate": 0.1, "dropout": 3, "optimizer": "adma", "epochs": 0, "seed": 1}
        )
    errors = caught.value.errors
    assert list(errors) == ["learnign_rate", "dropout", "optimizer", "epochs"]  # unknown first
    assert 'Did you mean "learning_rate"' in errors["learnign_rate"]
    assert 'Did you mean "adam"' in errors["optimizer"]
    assert errors["epochs"].startswith("invalid epochs: got 0")
    assert str(caught.value) == errors["learnign_rate"]  # the one line: the first problem


def test_nesterov_without_momentum_is_refused_by_the_model() -> None:
    with pytest.raises(KnobErrors) as caught:
        Hyperparameters.parse({"optimizer": "momentum", "momentum": 0, "nesterov": True})
    assert caught.value.errors == {
        "nesterov": "nesterov needs momentum > 0 (got momentum=0). Set momentum to 0.9 or "
        "turn nesterov off."
    }
    # other optimizers never see nesterov, so it is harmless there
    Hyperparameters.parse({"optimizer": "adam", "momentum": 0, "nesterov": True})


def test_a_model_travels_without_being_validated_again() -> None:
    hp = Hyperparameters(epochs=3)
    assert as_hyperparameters(hp) is hp
    assert as_hyperparameters(hp, {"epochs": 4}).epochs == 4 and hp.epochs == 3
    assert as_hyperparameters({"epochs": 5}, {"seed": 2}).model_dump()["seed"] == 2
    with pytest.raises(TunelabError, match="invalid epochs"):
        as_hyperparameters(hp, {"epochs": 0})


# Values at and beyond each limit: the model and the factories' guard must agree.
EDGES = {
    "learning_rate": [1e-9, 10.0, 0.0, -1.0, 10.5],
    "weight_decay": [0.0, 1.0, -1e-9, 1.5],
    "momentum": [0.0, 0.99, 1.0, -0.1],
    "beta1": [0.0, 0.5, 1.0, -0.1],
    "beta2": [0.0, 0.999, 1.0, 1.2],
}


@pytest.mark.parametrize("field", sorted(EDGES))
def test_the_factories_guard_is_the_models_rule(field: str) -> None:
    for value in EDGES[field]:
        try:
            Hyperparameters.parse({field: value})
            model_ok = True
        except TunelabError:
            model_ok = False
        try:
            check_numbers(**{field: value})
            guard_ok = True
        except TunelabError as err:
            guard_ok = False
            assert str(err).startswith(f"{field} must be"), err
        assert model_ok == guard_ok, (field, value)
