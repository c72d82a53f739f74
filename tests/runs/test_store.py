"""The run store: names, atomic files, listing and lookup errors."""

from __future__ import annotations

import json

import pytest

from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.runs import RunStore, check_name


def test_create_list_get_delete(tmp_path) -> None:
    store = RunStore(tmp_path)
    run = store.create("digits-simple-cnn-adam")
    run.write_config(Hyperparameters(epochs=2))
    run.write_json("summary.json", {"status": "completed", "best": float("nan")})
    assert store.names() == [run.name]
    assert store.get(run.name).hyperparameters.epochs == 2
    assert json.loads((run.path / "summary.json").read_text())["best"] is None
    assert store.get("latest").name == run.name
    store.delete(run.name)
    assert store.names() == []


def test_named_run_cannot_be_created_twice(tmp_path) -> None:
    store = RunStore(tmp_path)
    store.create("x", name="mine")
    with pytest.raises(TunelabError, match="already exists"):
        store.create("x", name="mine")


@pytest.mark.parametrize(
    "name", ["../escape", "a/b", "..", ".hidden", "", "x" * 200, "a b", "semi;colon", "/abs"]
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(TunelabError, match="invalid run name"):
        check_name(name)


def test_reserved_name(tmp_path) -> None:
    with pytest.raises(TunelabError, match="reserved"):
        RunStore(tmp_path).create("x", name="latest")


def test_unknown_run_suggests_close_name(tmp_path) -> None:
    store = RunStore(tmp_path)
    store.create("x", name="digits-adam").write_config(Hyperparameters())
    with pytest.raises(TunelabError, match='Did you mean "digits-adam"'):
        store.get("digits-adan")


def test_latest_with_no_runs(tmp_path) -> None:
    with pytest.raises(TunelabError, match="no runs"):
        RunStore(tmp_path / "empty").get("latest")


def test_store_under_a_file_is_a_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TunelabError, match="cannot write to the run store"):
        RunStore(blocker / "runs").create("x")
