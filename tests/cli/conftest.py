from __future__ import annotations

from collections.abc import Callable

import pytest

from tunelab.cli.main import run


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI in-process with its runs in a temporary store; return code, out, err."""
    monkeypatch.setenv("TUNELAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TUNELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = run(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
