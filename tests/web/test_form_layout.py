"""The Train form's layout: essentials first, knobs shown when they apply, ladder steps."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tunelab.knobs import Hyperparameters, choices
from tunelab.web.form_layout import ESSENTIAL, applies, holds


def test_every_condition_names_real_knobs_and_real_choices() -> None:
    fields = Hyperparameters.model_fields
    assert set(ESSENTIAL) <= set(fields)
    for knob, condition in applies().items():
        assert knob in fields and condition["knob"] in fields, knob
        allowed = choices(condition["knob"])
        for value in condition.get("in", []):
            assert value in allowed, (knob, value)


def test_conditions_follow_the_optimizer_registry() -> None:
    rules = applies()
    assert holds(rules["momentum"], {"optimizer": "momentum"})
    assert not holds(rules["momentum"], {"optimizer": "adam"})
    assert not holds(rules["momentum"], {"optimizer": "sgd"})  # plain SGD has none
    assert holds(rules["beta1"], {"optimizer": "adamw"})
    assert not holds(rules["beta1"], {"optimizer": "momentum"})
    assert holds(rules["focal_gamma"], {"loss": "focal"})
    assert not holds(rules["schedule_gamma"], {"schedule": "constant"})
    assert holds(rules["restore_best_weights"], {"early_stopping_patience": 3})
    assert not holds(rules["freeze_epochs"], {"init_from": None})
    # the defaults: Adam, cross-entropy, constant schedule -> these hide
    defaults = Hyperparameters().model_dump()
    hidden = {knob for knob, rule in rules.items() if not holds(rule, defaults)}
    assert {"momentum", "nesterov", "focal_gamma", "label_smoothing", "schedule_gamma"} <= hidden
    assert "beta1" not in hidden


def test_ladder_steps_follow_the_library_ladders(client: TestClient) -> None:
    step = client.get("/api/ladder", params={"knob": "learning_rate", "value": "0.01"}).json()
    assert (step["down"], step["up"]) == (0.003, 0.03)
    step = client.get("/api/ladder", params={"knob": "batch_size", "value": "32"}).json()
    assert (step["down"], step["up"]) == (16, 64)
    bad = client.get("/api/ladder", params={"knob": "learning_rate", "value": "-1"})
    assert bad.status_code == 400 and "invalid learning_rate" in bad.json()["error"]
    layout = client.get("/api/form").json()
    assert layout["essential"][:3] == ["model", "optimizer", "learning_rate"]
