"""`tunelab train` validates the knobs once, between the flags and the optimizer."""

from __future__ import annotations

from typing import Any

import pytest

from tunelab.knobs import Hyperparameters


class CountingValidator:
    """Hyperparameters' pydantic validator, counting every validation (construction,
    ``parse``, ``model_validate``, ``replace``) and each assignment."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.validations = 0
        self.assignments = 0

    def validate_python(self, *args: Any, **kwargs: Any) -> Any:
        self.validations += 1
        return self.real.validate_python(*args, **kwargs)

    def validate_assignment(self, *args: Any, **kwargs: Any) -> Any:
        self.assignments += 1
        return self.real.validate_assignment(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Validations counted, and the count when the optimizer is built."""
    from tunelab.training import setup

    counter = CountingValidator(Hyperparameters.__pydantic_validator__)
    monkeypatch.setattr(Hyperparameters, "__pydantic_validator__", counter)
    seen: dict[str, Any] = {"counter": counter, "at_optimizer": []}
    real = setup.create_optimizer

    def create_optimizer(*args: Any, **kwargs: Any) -> Any:
        seen["at_optimizer"].append((counter.validations, counter.assignments))
        return real(*args, **kwargs)

    monkeypatch.setattr(setup, "create_optimizer", create_optimizer)
    return seen


def test_train_validates_once_between_flags_and_optimizer(cli, counted) -> None:
    code, out, err = cli("train", "digits", "--epochs", "1", "--threads", "1", "--quiet")
    assert code == 0, err
    assert counted["at_optimizer"] == [(1, 0)]


def test_train_with_a_config_file_validates_once(cli, counted, tmp_path) -> None:
    config = tmp_path / "knobs.yaml"
    config.write_text("epochs: 3\nbatch_size: 64\n")
    code, out, err = cli(
        "train", "digits", "--config", str(config), "--epochs", "1", "--threads", "1", "-q"
    )
    assert code == 0, err
    assert counted["at_optimizer"] == [(1, 0)]


def test_learning_rate_auto_is_validated_once_too(cli, counted) -> None:
    code, out, err = cli(
        "train", "digits", "--learning-rate", "auto", "--epochs", "1", "--threads", "1", "-q"
    )
    assert code == 0, err
    assert "learning rate (auto, from the range test):" in out
    # the range test builds its own optimizer first; neither re-validates the knobs
    assert counted["at_optimizer"] == [(1, 0), (1, 0)]


def test_tune_refuses_learning_rate_auto_before_making_a_study(cli, tmp_path) -> None:
    code, out, err = cli("tune", "digits", "--learning-rate", "auto", "--trials", "1")
    assert code == 1 and "Traceback" not in out + err
    assert "learning_rate 'auto' cannot be tuned from" in err
    assert not (tmp_path / "runs").exists()
