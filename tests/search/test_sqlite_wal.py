"""SQLite studies in WAL mode, except on network file systems or when told not to."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tunelab.search import Float, tune
from tunelab.search.sqlite_wal import WAL_ENV, file_system_type, wal_allowed
from tunelab.search.toy import curve

MOUNTS = """\
/dev/vda1 / ext4 rw,relatime 0 0
server:/export /mnt/shared nfs4 rw,relatime 0 0
/dev/vdb1 /mnt/shared/local ext4 rw 0 0
//nas/share /mnt/my\\040nas cifs rw 0 0
"""


@pytest.fixture
def mounts(tmp_path: Path) -> str:
    path = tmp_path / "mounts"
    path.write_text(MOUNTS)
    return str(path)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/home/me/runs/study.db", "ext4"),
        ("/mnt/shared/studies/study.db", "nfs4"),
        ("/mnt/shared/local/study.db", "ext4"),  # the deeper mount wins
        ("/mnt/sharedother/study.db", "ext4"),  # a prefix of the name is not a parent
        ("/mnt/my nas/study.db", "cifs"),  # /proc/mounts writes a space as \040
    ],
)
def test_the_file_system_is_the_deepest_mount_holding_the_file(path, kind, mounts) -> None:
    assert file_system_type(path, mounts) == kind


def test_without_a_mount_table_the_type_is_unknown(tmp_path) -> None:
    assert file_system_type("/x/study.db", str(tmp_path / "absent")) is None


def _journal(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]


def _tune(path: Path) -> None:
    tune(curve, {"x": Float(-1, 1), "y": Float(-1, 1)}, strategy="random", pruner="none",
         n_trials=3, storage=f"sqlite:///{path}", study_name="s")  # fmt: skip


def test_a_study_file_is_in_wal_mode_and_every_trial_is_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(WAL_ENV, raising=False)
    assert wal_allowed(tmp_path / "study.db")  # a local disk
    _tune(tmp_path / "study.db")
    assert _journal(tmp_path / "study.db") == "wal"
    with sqlite3.connect(tmp_path / "study.db") as connection:  # committed, readable by others
        (complete,) = connection.execute(
            "SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'"
        ).fetchone()
    assert complete == 3


def test_tunelab_sqlite_wal_0_keeps_the_default_journal(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(WAL_ENV, "0")
    assert not wal_allowed(tmp_path / "study.db")
    _tune(tmp_path / "study.db")
    assert _journal(tmp_path / "study.db") == "delete"


def test_a_network_file_system_keeps_the_default_journal(tmp_path, monkeypatch) -> None:
    import tunelab.search.sqlite_wal as sqlite_wal

    monkeypatch.delenv(WAL_ENV, raising=False)
    monkeypatch.setattr(sqlite_wal, "file_system_type", lambda path: "nfs4")
    _tune(tmp_path / "study.db")
    assert _journal(tmp_path / "study.db") == "delete"
