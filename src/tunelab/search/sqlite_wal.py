"""SQLite studies in write-ahead-log mode: a trial's many small writes without a disk flush each.

Optuna commits every parameter, report and attribute of a trial on its own, 30 to 40 commits
for a short image trial. In SQLite's default (rollback journal, ``synchronous=FULL``) each
commit waits for the disk twice; in WAL mode with ``synchronous=NORMAL`` a commit appends to
the ``-wal`` file and the disk is flushed only at checkpoints. A crash of the process or of
tunelab loses nothing committed; a power cut or an OS crash may lose the last commits, never
corrupt the file (a resumed tune re-runs what it lost). Readers no longer wait for writers,
so the web app's watcher and several local workers share the file more smoothly.

WAL needs memory shared between the processes that open the file, so it is not used on a
network file system (NFS, SMB, sshfs, ...): there the file keeps SQLite's default journal.
``TUNELAB_SQLITE_WAL=0`` keeps it everywhere (for a shared file system not listed here).
The study file then comes with ``<file>-wal`` and ``<file>-shm`` beside it while it is open.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: File-system types (``/proc/mounts``) where SQLite's WAL mode is unsafe.
NETWORK_FILE_SYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
     "gpfs", "fuse.sshfs", "fuse.glusterfs", "fuse.s3fs", "fuse.gcsfuse", "fuse.rclone"}
)  # fmt: skip


def file_system_type(path: str | os.PathLike[str], mounts: str = "/proc/mounts") -> str | None:
    """The type of the file system holding ``path`` (Linux), or None when unknown."""
    try:
        table = Path(mounts).read_text()
    except OSError:
        return None
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)) or ".")
    best, kind = "", None
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = folder == point or folder.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


#: Environment variable: ``0`` keeps SQLite's default rollback journal on every file system.
WAL_ENV = "TUNELAB_SQLITE_WAL"


def wal_allowed(path: str | os.PathLike[str]) -> bool:
    """True unless ``path`` is on a network file system or ``$TUNELAB_SQLITE_WAL`` is 0."""
    if os.environ.get(WAL_ENV, "").strip() == "0":
        return False
    return file_system_type(path) not in NETWORK_FILE_SYSTEMS


def use_wal(engine: Any, path: str) -> None:
    """Give every new connection of ``engine`` (a SQLite file at ``path``) WAL mode and
    ``synchronous=NORMAL``, and drop the connections opened before."""
    if not wal_allowed(path):
        return
    from sqlalchemy import event

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        except Exception:  # noqa: BLE001 - a read-only file keeps its mode; writes say why
            pass

    event.listen(engine, "connect", on_connect)
    engine.dispose()
