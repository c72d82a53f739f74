"""Real servers for the distributed tests: a PostgreSQL database per test, one Ray instance.

PostgreSQL: ``$TUNELAB_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); each test gets a fresh database,
dropped afterwards. An unreachable server fails the tests; it never skips them. (The same
fixture as ``tests/search/conftest.py``: conftest files are not importable under
``--import-mode=importlib``, so it is repeated here.)

Ray: one local instance for the whole session (start-up takes seconds), shut down at the
end; tunelab reuses a Ray session it finds running and leaves it running.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

ADMIN_URL = os.environ.get("TUNELAB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


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


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[Any]:
    """A local Ray instance on two CPUs, started once per test session."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
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
