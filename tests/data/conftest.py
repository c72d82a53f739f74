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
