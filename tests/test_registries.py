"""Registry names have one source: each Literal of the knob model, its ``allowed`` text,
the diagnosis's tables and the web app's choices match the registries exactly."""

from __future__ import annotations

from typing import get_args

import pytest

from tunelab import knobs
from tunelab.knobs import Hyperparameters, knob_info, one_of

FIELDS = {
    "model": knobs.ModelName,
    "optimizer": knobs.OptimizerName,
    "loss": knobs.LossName,
    "activation": knobs.ActivationName,
    "schedule": knobs.ScheduleName,
}


def registry(field: str) -> list[str]:
    from tunelab.models import MODELS
    from tunelab.models.activations import ACTIVATIONS
    from tunelab.training.losses import LOSSES
    from tunelab.training.optimizers import OPTIMIZERS
    from tunelab.training.schedules import SCHEDULES

    tables = {
        "model": MODELS,
        "optimizer": OPTIMIZERS,
        "loss": LOSSES,
        "activation": ACTIVATIONS,
        "schedule": SCHEDULES,
    }
    return list(tables[field])


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_each_literal_is_its_registry(field: str) -> None:
    names = list(get_args(FIELDS[field]))
    assert sorted(names) == sorted(registry(field)) and len(set(names)) == len(names)
    assert list(get_args(Hyperparameters.model_fields[field].annotation)) == names


@pytest.mark.parametrize("field", [*sorted(FIELDS), "precision", "device"])
def test_allowed_text_is_derived_from_the_literal(field: str) -> None:
    annotation = Hyperparameters.model_fields[field].annotation
    assert knob_info(field)["allowed"] == one_of(annotation)
    assert knob_info("augment")["allowed"] == "any of " + one_of(knobs.AugmentName)


def test_diagnosis_knows_every_optimizer_and_model() -> None:
    from tunelab.diagnosis import ladders

    assert sorted(ladders.HIGH_LR) == sorted(registry("optimizer"))
    ladder = ladders.MODEL_LADDER
    # every name it climbs between is a registered model (the pretrained-weights models,
    # resnet18 and mobilenet-v2, are not on the from-scratch ladder)
    assert set(ladder) | set(ladder.values()) <= set(registry("model"))
    assert {"simple-cnn", "cnn", "resnet", "mobilenet", "mlp"} <= set(ladder) | {"resnet"}


def test_the_web_tune_choices_are_the_search_registries() -> None:
    from pydantic import ValidationError

    from tunelab.search.pruners import PRUNERS
    from tunelab.search.strategies import STRATEGIES
    from tunelab.web.routes.search import TuneRequest

    for name in STRATEGIES:
        assert TuneRequest(data="x", strategy=name).strategy == name
    for name in PRUNERS:
        assert TuneRequest(data="x", pruner=name).pruner == name
    with pytest.raises(ValidationError, match="unknown strategy 'bayes'"):
        TuneRequest(data="x", strategy="bayes")
    with pytest.raises(ValidationError, match="unknown pruner 'asha2'"):
        TuneRequest(data="x", pruner="asha2")
