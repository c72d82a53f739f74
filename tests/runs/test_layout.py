"""The run store owns its layout: ``studies/``, ``sweeps/``, best configs and
``config.yaml`` are spelled in tunelab/runs/store.py and nowhere else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tunelab
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters
from tunelab.runs import Run, RunStore

SRC = Path(tunelab.__file__).parent
SPELLINGS = ("studies", "sweeps", "config.yaml")


def test_the_layout_paths(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    assert store.studies_dir == tmp_path / "studies"
    assert store.study_db_path("mine") == tmp_path / "studies" / "mine.db"
    assert store.best_config_path("mine") == tmp_path / "studies" / "mine-best.yaml"
    assert store.sweeps_dir == tmp_path / "sweeps"
    assert store.sweep_path("s1") == tmp_path / "sweeps" / "s1.json"
    with pytest.raises(TunelabError, match="invalid study name"):
        store.best_config_path("../x")
    assert store.study_names() == [] and store.sweep_names() == []
    store.studies_dir.mkdir()
    (store.studies_dir / "b.db").write_text("")
    (store.studies_dir / "a.db").write_text("")
    assert store.study_names() == ["a", "b"]


def test_config_is_read_through_the_run(tmp_path: Path) -> None:
    run = Run(tmp_path / "r")
    run.path.mkdir()
    assert run.config == {}
    run.write_config(Hyperparameters(epochs=4))
    assert run.config["epochs"] == 4 and run.hyperparameters.epochs == 4
    run.config_path.write_text("epochs: [4\n")
    assert run.config == {}  # unreadable: empty, as the listings expect


def _spelled(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    keys = {  # JSON keys such as {"studies": [...]} name no folder
        id(key) for node in ast.walk(tree) if isinstance(node, ast.Dict) for key in node.keys
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings or id(node) in keys:
                continue
            if node.value in SPELLINGS or node.value.endswith("-best.yaml"):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value!r}")
    return found


def test_no_other_module_spells_the_layout() -> None:
    store = SRC / "runs" / "store.py"
    found = [hit for path in sorted(SRC.rglob("*.py")) if path != store for hit in _spelled(path)]
    assert not found, "\n".join(found)
