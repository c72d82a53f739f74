"""The web app validates a form once, at the boundary: every bad field in one 422, then
the validated model goes to the task and the trainer; the library's defaults are its own."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tunelab.knobs import Hyperparameters

BAD = {"learning_rate": -1, "optimizer": "adma", "dropout": 2, "batch_size": 0, "epochs": 1}
BAD_FIELDS = {"learning_rate", "optimizer", "dropout", "batch_size"}


@pytest.mark.parametrize(
    "path, extra",
    [
        ("/api/knobs/validate", None),
        ("/api/train", {"data": "tiny"}),
        ("/api/sweep", {"data": "tiny", "knob": "dropout"}),
        ("/api/tune", {"data": "tiny", "trials": 2}),
    ],
)
def test_every_bad_field_is_in_one_422(
    client: TestClient, runs_dir: Any, path: str, extra: dict[str, Any] | None
) -> None:
    body = {"values": BAD} if extra is None else {**extra, "hyperparameters": BAD}
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert set(errors) == BAD_FIELDS
    for field, message in errors.items():
        assert message.startswith(f"invalid {field}: got "), message
    assert 'Did you mean "adam"' in errors["optimizer"]
    assert client.get("/api/jobs").json()["current"] is None  # nothing started
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_rule_across_knobs_is_named_by_its_field(client: TestClient) -> None:
    values = {"optimizer": "momentum", "momentum": 0, "nesterov": True, "model": "vgg"}
    errors = client.post("/api/knobs/validate", json={"values": values}).json()["errors"]
    assert set(errors) == {"model", "nesterov"}
    assert errors["nesterov"].startswith("nesterov needs momentum > 0")


class Counter:
    def __init__(self, real: Any) -> None:
        self.real, self.validations = real, 0

    def validate_python(self, *args: Any, **kwargs: Any) -> Any:
        self.validations += 1
        return self.real.validate_python(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_the_validated_model_goes_to_the_trainer(
    client: TestClient, watch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunelab.training import setup

    counter = Counter(Hyperparameters.__pydantic_validator__)
    monkeypatch.setattr(Hyperparameters, "__pydantic_validator__", counter)
    at_optimizer: list[int] = []
    real = setup.create_optimizer

    def create_optimizer(*args: Any, **kwargs: Any) -> Any:
        at_optimizer.append(counter.validations)
        return real(*args, **kwargs)

    monkeypatch.setattr(setup, "create_optimizer", create_optimizer)
    values = {"epochs": 1, "batch_size": 8, "learning_rate": "auto"}
    started = client.post("/api/train", json={"data": "tiny", "hyperparameters": values})
    assert started.status_code == 202
    job = watch.job(started.json()["id"])
    assert job["status"] == "completed", job["error"]
    assert at_optimizer == [1, 1]  # the range test's optimizer, then the run's
    assert job["result"]["summary"]["learning_rate_auto"] > 0


def test_the_tune_form_offers_the_librarys_defaults(client: TestClient) -> None:
    from tunelab.report.importance import MIN_TRIALS
    from tunelab.search.pruners import PRUNERS
    from tunelab.search.strategies import STRATEGIES
    from tunelab.trials.images import DEFAULT_TRIALS
    from tunelab.web.routes.search import TuneRequest

    options = client.get("/api/tune/options").json()
    assert options == {
        "trials": DEFAULT_TRIALS,
        "strategies": list(STRATEGIES),
        "pruners": list(PRUNERS),
        "importance_min_trials": MIN_TRIALS,
    }
    assert TuneRequest(data="tiny").trials == DEFAULT_TRIALS


def test_web_importances_follow_the_librarys_minimum(tmp_path: Any) -> None:
    import optuna

    from tunelab.report.importance import MIN_TRIALS
    from tunelab.web.studies import snapshot

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=url, direction="maximize")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1) / 10, 3)
    few = snapshot(url, "s", importances=True)
    assert few["importances"] is None
    assert f"at least {MIN_TRIALS} needed" in few["importances_note"]
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1) / 10, 5)
    enough = snapshot(url, "s", importances=True)
    assert set(enough["importances"]) == {"x", "y"}


def test_a_sweep_from_auto_plans_its_ladder_after_the_range_test(
    client: TestClient, watch: Any
) -> None:
    from tunelab.explore.ladders import ladder

    base = {"learning_rate": "auto", "epochs": 1, "batch_size": 8}
    started = client.post(
        "/api/sweep", json={"data": "tiny", "knob": "learning_rate", "hyperparameters": base}
    )
    assert started.status_code == 202, started.text
    job = watch.job(started.json()["id"])
    assert job["status"] == "completed", job["error"]
    result = job["result"]
    chosen = result["hyperparameters"]["learning_rate"]
    assert isinstance(chosen, float) and result["values"] == ladder("learning_rate", chosen)
