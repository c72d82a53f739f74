"""train()'s set-up: every check that can refuse a run runs before its folder exists, and
``learning_rate: auto`` is resolved there, once, on the run's own data and split."""

from __future__ import annotations

import json

import pytest

from tunelab.data import load_dataset, make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.runs import RunStore
from tunelab.training import lr_find, setup
from tunelab.training.trainer import train


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = make_synthetic_folder(
        tmp_path_factory.mktemp("tiny") / "data", classes=3, per_class=12, size=(12, 12)
    )
    return load_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))


def test_beta1_zero_is_allowed_by_the_model_and_trains(tiny, tmp_path) -> None:
    for optimizer in ("adam", "adamw", "nadam"):
        run = train(tiny, store=tmp_path, optimizer=optimizer, beta1=0.0, epochs=1, threads=1)
        assert run.summary["status"] == "completed", optimizer
        assert run.hyperparameters.beta1 == 0.0


def _folders(path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def test_a_run_refused_at_set_up_leaves_nothing_on_disk(tiny, tmp_path, monkeypatch) -> None:
    store = tmp_path / "runs"
    store.mkdir()
    with pytest.raises(TunelabError, match="fp16"):  # refused by the precision check
        train(tiny, store=store, precision="fp16", device="cpu", epochs=1, threads=1)
    assert _folders(store) == []

    def refuse(*args, **kwargs):
        raise TunelabError("optimizer refused (a stand-in for any factory's refusal)")

    monkeypatch.setattr(setup, "create_optimizer", refuse)
    with pytest.raises(TunelabError, match="optimizer refused"):
        train(tiny, store=store, epochs=1, threads=1, name="refused")
    assert _folders(store) == []


def test_a_taken_name_is_refused_before_any_work(tiny, tmp_path, monkeypatch) -> None:
    train(tiny, store=tmp_path, epochs=1, threads=1, name="taken")
    built = []
    real = setup.build_training

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("tunelab.training.trainer.build_training", counting)
    with pytest.raises(TunelabError, match="a run named 'taken' already exists"):
        train(tiny, store=tmp_path, epochs=1, threads=1, name="taken", learning_rate="auto")
    assert built == [] and _folders(tmp_path) == ["taken"]


def test_auto_is_resolved_in_train_on_the_runs_own_split(tiny, tmp_path, monkeypatch) -> None:
    seen = {}
    real = lr_find.find_lr

    def spy(data, hyperparameters=None, **kwargs):
        seen["data"], seen["split"] = data, kwargs.get("split")
        return real(data, hyperparameters, **kwargs)

    monkeypatch.setattr(lr_find, "find_lr", spy)
    hp = Hyperparameters(learning_rate="AUTO", epochs=1, threads=1, batch_size=8)
    run = train(tiny, hp, store=tmp_path, name="auto")
    chosen = run.summary["learning_rate_auto"]
    assert isinstance(chosen, float) and 1e-7 <= chosen <= 10
    assert run.hyperparameters.learning_rate == chosen  # config.yaml holds the number
    assert hp.learning_rate == "auto"  # the caller's model is not changed
    assert seen["data"] is tiny  # the data loaded once, not read again
    info = json.loads((run.path / "model.json").read_text())
    assert [int(i) for i in seen["split"][0]] == info["train_indices"]
    assert [int(i) for i in seen["split"][1]] == info["val_indices"]
    plain = train(tiny, store=tmp_path, epochs=1, threads=1)
    assert plain.summary["learning_rate_auto"] is None


def test_a_path_is_loaded_once_with_auto(tmp_path, monkeypatch) -> None:
    root = make_synthetic_folder(tmp_path / "data", classes=2, per_class=10, size=(8, 8))
    loads = []
    real = setup.load_dataset

    def counting(*args, **kwargs):
        loads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(setup, "load_dataset", counting)
    run = train(root, store=RunStore(tmp_path / "runs"), learning_rate="auto", epochs=1, threads=1)
    assert run.summary["learning_rate_auto"] is not None
    assert len(loads) == 1
