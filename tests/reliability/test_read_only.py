"""A read-only study or run store: `tune --resume` and `tune-report` say so in one line.

Root ignores file permissions, so as root the file or folder is made read-only the way a
read-only disk is: a read-only bind mount in a mount namespace of the command's own
(``unshare -m``); any other user gets ``chmod a-w``. Either way the command meets the real
refusal (SQLite's "attempt to write a readonly database", EROFS or EACCES).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from tunelab.data import make_synthetic_folder

TINY = ["--epochs", "1", "--threads", "1", "--no-report", "--fix", "model=mlp"]
BIND_READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A one-trial study in a run store, made through the CLI."""
    root = tmp_path_factory.mktemp("read-only")
    data = make_synthetic_folder(root / "data", classes=2, per_class=5, size=(8, 8))
    store = root / "runs"
    done = _tunelab("tune", str(data), "--study", "s", "--trials", "1", "--runs-dir", str(store),
                    *TINY)  # fmt: skip
    assert done.returncode == 0, done.stderr
    yield {"root": root, "data": Path(data), "store": store, "db": store / "studies" / "s.db"}


def _tunelab(*args: str, read_only: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh process; with ``read_only``, that path cannot be written."""
    command = [sys.executable, "-m", "tunelab", *args]
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    if read_only is not None and os.geteuid() == 0:
        command = ["unshare", "-m", "sh", "-c", BIND_READ_ONLY, str(read_only), *command]
    elif read_only is not None:
        _chmod_read_only(read_only)
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    finally:
        if read_only is not None and os.geteuid() != 0:
            _chmod_writable(read_only)


def _chmod_read_only(path: Path) -> None:
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        item.chmod(item.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _chmod_writable(path: Path) -> None:
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        item.chmod(item.stat().st_mode | stat.S_IWUSR)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "bug in tunelab" not in lines[0]
    return lines[0]


def test_the_read_only_mount_works_here() -> None:
    """The other tests rely on it: as root, a mount namespace must be allowed."""
    if os.geteuid() == 0:
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
        assert probe.returncode == 0, f"unshare -m is refused here: {probe.stderr.strip()}"


def _trials(db: Path) -> int:
    return len(optuna.load_study(study_name="s", storage=f"sqlite:///{db}").trials)


def test_resuming_a_study_in_a_read_only_sqlite_file_is_one_line(made: dict[str, Path]) -> None:
    # Issue 16: a traceback (then "unexpected StorageInternalError ... a bug in tunelab").
    args = ["tune", str(made["data"]), "--study", "s", "--resume", "--trials", "2"]
    result = _tunelab(*args, "--runs-dir", str(made["store"]), *TINY, read_only=made["db"])
    line = _one_line(result)
    assert "cannot write to storage" in line and str(made["db"]) in line
    assert "readonly database" in line and "writable" in line
    assert _trials(made["db"]) == 1  # nothing was started


def test_a_read_only_sqlite_uri_is_refused_and_creates_no_folder(
    made: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    url = f"sqlite:///file:{made['db']}?mode=ro&uri=true"
    code, _, err = cli("tune", str(made["data"]), "--study", "s", "--resume", "--trials", "2",
                       "--storage", url, "--runs-dir", str(made["store"]), *TINY)  # fmt: skip
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"cannot write to storage 'sqlite:///file:{made['db']}?mode=ro" in err
    assert "attempt to write a readonly database" in err
    assert list(work.iterdir()) == []  # no stray "file:" folder from the URI's path
    assert _trials(made["db"]) == 1


def test_tune_report_on_a_read_only_store_is_one_line_with_a_way_out(
    made: dict[str, Path], tmp_path: Path
) -> None:
    result = _tunelab("tune-report", "s", "--runs-dir", str(made["store"]),
                      read_only=made["store"])  # fmt: skip
    line = _one_line(result)
    assert "cannot write the report of study 's'" in line and str(made["store"]) in line
    url = f"sqlite:///{made['db'].resolve()}"
    assert f"--storage {url} --runs-dir" in line
    # The way out works: read the study where it is, write the report elsewhere.
    other = tmp_path / "elsewhere"
    again = _tunelab("tune-report", "s", "--storage", url, "--runs-dir", str(other),
                     read_only=made["store"])  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert (other / "studies" / "s-report.html").is_file()
