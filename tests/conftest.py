"""Fixtures for every test: folders kept out of the user's home, the in-process CLI, and
a real PostgreSQL database.

PostgreSQL: ``$TUNELAB_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); each test that asks gets a fresh
database, dropped afterwards. An unreachable server fails the test; it never skips it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ADMIN_URL = os.environ.get("TUNELAB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True, scope="session")
def _isolated_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("tunelab-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("TUNELAB_CACHE_DIR", str(root / "cache"))
    patch.setenv("TUNELAB_RUNS", str(root / "runs"))
    patch.setenv("MPLBACKEND", "Agg")
    yield
    patch.undo()


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI in-process with its runs in a temporary store; return code, out, err."""
    from tunelab.cli.main import run

    monkeypatch.setenv("TUNELAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TUNELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = run(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def _admin() -> Any:
    import psycopg

    try:
        return psycopg.connect(ADMIN_URL, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {ADMIN_URL} ({str(exc).strip()}). Start it "
            f"(pg_ctlcluster --skip-systemctl-redirect 15 main start) or point "
            f"$TUNELAB_TEST_POSTGRES at a server.",
            pytrace=False,
        )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped after the test."""
    name = f"tunelab_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def px() -> Any:
    """tests/data/piximi_projects.py, the writer of small Piximi project files."""
    import importlib.util
    import sys

    name = "tunelab_tests_piximi_projects"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parent / "data" / "piximi_projects.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
