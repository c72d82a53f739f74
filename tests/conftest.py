"""Every test keeps its data cache and run store out of the user's folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("tunelab-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("TUNELAB_CACHE_DIR", str(root / "cache"))
    patch.setenv("TUNELAB_RUNS", str(root / "runs"))
    patch.setenv("MPLBACKEND", "Agg")
    yield
    patch.undo()
