"""`tunelab serve`: loopback by default, a token anywhere else, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tunelab.cli.main import run
from tunelab.cli.serve import is_loopback, resolve_token


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Captures what uvicorn.run would have served, instead of serving it."""
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, host: str, port: int, **options: Any) -> None:
        seen.update(app=app, host=host, port=port)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return seen


def test_defaults_bind_loopback_without_a_token(
    served: dict[str, Any], data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["serve", "--data-root", str(data_root), "--runs-dir", str(tmp_path / "r")])
    assert code == 0
    assert (served["host"], served["port"]) == ("127.0.0.1", 8000)
    settings = served["app"].state.settings
    assert settings.token is None and settings.data_roots == (data_root.resolve(),)
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/" in out and "token" not in out


def test_any_other_address_gets_a_generated_token(
    served: dict[str, Any], data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["serve", "--host", "0.0.0.0", "--port", "8123", "--data-root", str(data_root)])
    assert code == 0
    token = served["app"].state.settings.token
    assert token and len(token) >= 24
    out = capsys.readouterr().out
    assert f"http://0.0.0.0:8123/?token={token}" in out
    assert "token (generated; needed because 0.0.0.0 is not loopback)" in out


def test_a_given_token_is_used(served: dict[str, Any], data_root: Path) -> None:
    assert run(["serve", "--host", "::", "--token", "abc", "--data-root", str(data_root)]) == 0
    assert served["app"].state.settings.token == "abc"


def test_a_missing_data_root_is_one_line(
    served: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["serve", "--data-root", str(tmp_path / "nope")])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: data root") and "--data-root DIR" in err
    assert "\n" not in err and not served


def test_a_bad_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve", "--port", "70000"]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err == "error: invalid --port 70000: allowed 1 to 65535. Use a free port, e.g. --port 8000."
    )


@pytest.mark.parametrize(
    ("host", "loopback", "tokenless"),
    [
        ("127.0.0.1", True, True),
        ("localhost", True, True),
        ("::1", True, False),
        ("127.0.0.2", True, False),
        ("0.0.0.0", False, False),
        ("::", False, False),
        ("192.168.1.4", False, False),
        ("example.org", False, False),
    ],
)
def test_only_127_0_0_1_and_localhost_go_without_a_token(
    host: str, loopback: bool, tokenless: bool
) -> None:
    # As `serve --help` says: every other bind, loopback ones included, needs the token.
    assert is_loopback(host) is loopback
    token, generated = resolve_token(host, None)
    assert (token is None) is tokenless and generated is not tokenless
