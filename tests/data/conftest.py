"""Shared fixtures for the data tests: every test gets its own cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder, also set as $TUNELAB_CACHE_DIR so nothing lands in ~/.cache."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TUNELAB_CACHE_DIR", str(folder))
    return folder


def load_piximi_projects():
    """tests/data/piximi_projects.py, the writer of small Piximi project files."""
    import importlib.util
    import sys

    name = "tunelab_tests_piximi_projects"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("piximi_projects.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def px():
    return load_piximi_projects()
