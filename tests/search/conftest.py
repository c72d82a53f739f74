"""Study storages for the search tests: a SQLite file and a real PostgreSQL database
(``postgres_url`` in ``tests/conftest.py``: what several machines share to tune one study).
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A study storage URL of each kind tunelab supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("postgres_url")
