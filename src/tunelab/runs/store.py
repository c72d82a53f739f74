"""The run store: one folder per run under ``./tunelab-runs/`` (or ``$TUNELAB_RUNS``).

A run folder holds ``config.yaml`` (the hyperparameters), ``metrics_batch.csv`` and
``metrics_epoch.csv``, ``summary.json`` (final and best metrics, status, timings),
``model.safetensors`` with ``model.json`` (what is needed to rebuild and use the model).
Files are written atomically, so a crash never leaves half a file behind.

The store's other folders are spelled here and nowhere else: ``studies/`` (a tune's
``<study>.db``, ``<study>-best.yaml`` and reports; :meth:`RunStore.studies_dir`) and
``sweeps/`` (a sweep's ``<sweep>.json`` and ``.png``; :meth:`RunStore.sweeps_dir`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tunelab.errors import TunelabError, did_you_mean

CONFIG_FILE = "config.yaml"
#: Which process trains a run (host and pid), so a killed run is not "running" forever.
OWNER_FILE = "owner.json"
STUDIES = "studies"
SWEEPS = "sweeps"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
RESERVED = {"latest", "all"}


def default_root() -> Path:
    return Path(os.environ.get("TUNELAB_RUNS", "tunelab-runs"))


def check_name(name: str, what: str = "run name") -> str:
    """Refuse names that could escape the store or confuse the shell."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise TunelabError(
            f"invalid {what} {name!r}: use 1 to 120 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, with no '/' or '..'. For example: digits-adam-1."
        )
    return name


def check_new_name(name: str) -> str:
    """A name a new run may take: valid (see :func:`check_name`) and not reserved."""
    check_name(name)
    if name in RESERVED:
        raise TunelabError(f"run name {name!r} is reserved. Choose another, e.g. {name}-1.")
    return name


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The process's umask, read once (reading it means setting it, which is not thread-safe).
UMASK = _umask()


def usual_mode(path: str | os.PathLike[str]) -> None:
    """Give a file the permissions a plain ``open()`` would (0644 under umask 022).

    Temporary files (``mkstemp``) and safetensors' writer create files readable by their
    owner only; run folders are shared (other users, other machines' workers, the web app).
    """
    os.chmod(path, 0o666 & ~UMASK)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            handle.write(text)
        usual_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Files a run folder is made of: tunelab never writes an output (--out, --plot) over them.
RUN_FILES = frozenset(
    {
        "config.yaml",
        "model.json",
        "model.safetensors",
        "summary.json",
        "metrics_epoch.csv",
        "metrics_batch.csv",
        "weights-removed.txt",
    }
)


def check_output_file(path: str | Path, flag: str, example: str) -> Path:
    """``path`` if a command may write its output file there; a one-line error otherwise
    (a folder, under a file, or one of a run folder's own files)."""
    path = Path(path)
    if path.is_dir():
        raise TunelabError(
            f"{flag} {str(path)!r} is a folder; give a file name, e.g. "
            f"{flag} {str(path / example)!r}."
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise TunelabError(
                    f"{flag} {str(path)!r} cannot be written: {str(parent)!r} is a file, not a "
                    f"folder. Choose another {flag}."
                )
            break
    if path.name in RUN_FILES and (path.parent / "config.yaml").is_file():
        raise TunelabError(
            f"{flag} {str(path)!r} is one of run {path.parent.name!r}'s own files; tunelab never "
            f"writes over them. Choose another file, e.g. {flag} {str(path.parent / example)!r}."
        )
    return path


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    rows = list(rows)
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def from_csv(path: Path) -> list[dict[str, float]]:
    """The rows of a metrics CSV as numbers (an empty cell is NaN); a one-line error for a
    damaged file."""
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            parsed = {}
            for key, value in row.items():
                try:
                    parsed[str(key)] = float(value) if value not in ("", None) else math.nan
                except (TypeError, ValueError):
                    raise TunelabError(
                        f"metrics file {str(path)!r} is damaged: line {reader.line_num}, column "
                        f"{key!r} holds {str(value)[:40]!r}, not a number. Restore the file, or "
                        "delete the run with `tunelab runs delete`."
                    ) from None
            rows.append(parsed)
    return rows


class Run:
    """One run: its folder, typed access to what is in it, and (after training) its model."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.model: Any = None  # the trained nn.Module, set by train()
        self.warnings: list[str] = []

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    # --- writing ---
    def write_json(self, filename: str, data: dict[str, Any]) -> None:
        text = json.dumps(finite(data), indent=2, default=str, allow_nan=False)
        atomic_write(self.path / filename, text + "\n")

    def write_config(self, hyperparameters: Any) -> None:
        import yaml

        data = hyperparameters.model_dump(mode="json")
        atomic_write(self.config_path, yaml.safe_dump(data, sort_keys=False))

    def write_metrics(self, epochs: list[dict[str, Any]], batches: list[dict[str, Any]]) -> None:
        atomic_write(self.path / "metrics_epoch.csv", to_csv(epochs))
        atomic_write(self.path / "metrics_batch.csv", to_csv(batches))

    def mark_stopped(self, error: BaseException) -> None:
        """Record why training stopped early (``interrupted`` for Ctrl-C, ``failed``
        otherwise), unless a summary was already written; best effort (the disk may be full)."""
        if (self.path / "summary.json").exists() or not self.path.is_dir():
            return
        interrupted = isinstance(error, KeyboardInterrupt)
        reason = " ".join(str(error).split()) or type(error).__name__
        summary = {
            "run": self.name,
            "status": "interrupted" if interrupted else "failed",
            "error": "interrupted (Ctrl-C)" if interrupted else reason[:500],
        }
        with contextlib.suppress(OSError):
            self.write_json("summary.json", summary)

    # --- reading ---
    def read_json(self, filename: str) -> dict[str, Any]:
        path = self.path / filename
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def summary(self) -> dict[str, Any]:
        return self.read_json("summary.json")

    @property
    def model_info(self) -> dict[str, Any]:
        return self.read_json("model.json")

    @property
    def status(self) -> str:
        """The summary's status; with none yet, "running", or "interrupted" once the
        process that trains it (on this host) is gone: killed, say, with no chance to say."""
        status = self.summary.get("status")
        if status is not None:
            return str(status)
        return "interrupted" if self.owner_gone() else "running"

    def mark_owner(self) -> None:
        """Record which process trains this run (``owner.json``: host and pid)."""
        import socket

        owner = {"host": socket.gethostname(), "pid": os.getpid()}
        atomic_write(self.path / OWNER_FILE, json.dumps(owner))

    def owner_gone(self) -> bool:
        """Whether the process that trains this run ran on this host and has ended."""
        import socket

        from tunelab.machine import pid_alive

        owner = self.read_json(OWNER_FILE)
        pid = owner.get("pid")
        if owner.get("host") != socket.gethostname() or not isinstance(pid, int):
            return False  # another machine's (or an older run's): it may well be running
        return not pid_alive(pid)

    @property
    def epochs(self) -> list[dict[str, float]]:
        return from_csv(self.path / "metrics_epoch.csv")

    @property
    def batches(self) -> list[dict[str, float]]:
        return from_csv(self.path / "metrics_batch.csv")

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def config(self) -> dict[str, Any]:
        """``config.yaml`` as it is on disk (a mapping; empty when missing or unreadable)."""
        import yaml

        try:
            data = yaml.safe_load(self.config_path.read_text())
        except (OSError, yaml.YAMLError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def is_ensemble(self) -> bool:
        """True for a tune's ensemble of trials: its ``model.json`` describes an ensemble
        (what its outputs are), or its summary says so (``trials/ensemble.py`` writes both)."""
        return self.model_info.get("model") == "ensemble" or self.summary.get("kind") == "ensemble"

    @property
    def model_name(self) -> str | None:
        """The model the run holds: its config's, or "ensemble of N" for a tune's ensemble
        (whose config.yaml holds its best member's knobs)."""
        # The members are in the summary, so its mark decides here: a run list asks every
        # run, and is_ensemble would read model.json too and the summary twice.
        summary = self.summary
        members = summary.get("members") if summary.get("kind") == "ensemble" else None
        if isinstance(members, list):
            return f"ensemble of {len(members)}"
        model = self.config.get("model")
        return None if model is None else str(model)

    @property
    def hyperparameters(self) -> Any:
        """``config.yaml`` validated as :class:`~tunelab.knobs.Hyperparameters`."""
        from tunelab.knobs import Hyperparameters

        return Hyperparameters.load(self.config_path)

    @property
    def weights_path(self) -> Path:
        return self.path / "model.safetensors"


class RunStore:
    """The folder that holds every run."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def create_root(self) -> None:
        """Make the store's folder, or say clearly why it cannot be written."""
        self._ensure_root()

    def _ensure_root(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise TunelabError(
                f"the run store {str(self.root)!r} is a file, not a folder. Give a folder "
                "with --runs-dir (or $TUNELAB_RUNS)."
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as err:
            raise TunelabError(
                f"cannot write to the run store {str(self.root)!r} ({err.strerror or err}). "
                "Free some space, fix its permissions, or choose another with --runs-dir."
            ) from None

    def check_space(self, needed: int, run: Run | None = None) -> None:
        """Fail before training when the store's disk cannot hold ``needed`` more bytes.

        ``run`` (just created, still empty of results) is removed first, so a refused
        run leaves the store as it was.
        """
        free = shutil.disk_usage(self.root).free
        if free >= needed:
            return
        if run is not None:
            shutil.rmtree(run.path, ignore_errors=True)
        raise TunelabError(
            f"the run store {str(self.root)!r} has {_size(free)} free; this run needs about "
            f"{_size(needed)}. Free some space, or choose another store with --runs-dir."
        )

    # --- the store's layout ---
    @property
    def studies_dir(self) -> Path:
        """``<store>/studies``: study databases, best configs, importances and reports."""
        return self.root / STUDIES

    def study_db_path(self, study: str) -> Path:
        return self.studies_dir / f"{check_name(study, 'study name')}.db"

    def best_config_path(self, study: str) -> Path:
        """Where a study's best knobs are written as YAML (``<study>-best.yaml``)."""
        return self.studies_dir / f"{check_name(study, 'study name')}-best.yaml"

    def study_names(self) -> list[str]:
        """The studies with a database in ``studies/``."""
        folder = self.studies_dir
        return sorted(p.stem for p in folder.glob("*.db")) if folder.is_dir() else []

    @property
    def sweeps_dir(self) -> Path:
        """``<store>/sweeps``: each sweep's summary (``.json``) and plot (``.png``)."""
        return self.root / SWEEPS

    def sweep_path(self, sweep: str) -> Path:
        return self.sweeps_dir / f"{check_name(sweep, 'sweep name')}.json"

    def sweep_names(self) -> list[str]:
        folder = self.sweeps_dir
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def check_new_name(self, name: str) -> str:
        """``name`` if a new run may take it, else the one-line reason it may not."""
        check_new_name(name)
        if (self.root / name).exists():
            raise TunelabError(
                f"a run named {name!r} already exists in {str(self.root)!r}. Choose "
                "another name, or delete it with `tunelab runs delete`."
            )
        return name

    def create(self, prefix: str, name: str | None = None) -> Run:
        """A new, empty run folder; the store is checked for writability first."""
        self._ensure_root()
        if name is not None:
            path = self.root / self.check_new_name(name)
            path.mkdir()
            return Run(path)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9_.-]+|\.{2,}", "-", prefix).strip("-.")[:60].strip("-.")
        slug = slug or "run"
        for counter in range(1, 10_000):
            path = self.root / f"{stamp}-{slug}-{counter}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return Run(path)
        raise TunelabError(f"could not create a new run folder in {str(self.root)!r}.")

    def names(self) -> list[str]:
        if self.root.exists() and not self.root.is_dir():
            raise TunelabError(
                f"the run store {str(self.root)!r} is a file, not a folder. Give a folder "
                "with --runs-dir (or $TUNELAB_RUNS)."
            )
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and (p / CONFIG_FILE).exists()
        )

    def list(self) -> list[Run]:
        return [Run(self.root / name) for name in self.names()]

    def get(self, name: str) -> Run:
        """The run called ``name`` (``latest`` is the newest), or an error naming the choices."""
        names = self.names()
        if name == "latest":
            if not names:
                raise TunelabError(
                    f"there are no runs in {str(self.root)!r} yet. Train one with "
                    "`tunelab train digits`."
                )
            return max(self.list(), key=lambda run: run.path.stat().st_mtime)
        check_name(name)
        if name not in names:
            hint = did_you_mean(name, names)
            where = f" in {str(self.root)!r}"
            raise TunelabError(
                f"no run named {name!r}{where}.{hint} List the runs with `tunelab runs list`."
            )
        return Run(self.root / name)

    def delete(self, name: str) -> None:
        """Remove the run's folder; a run that is a symlink loses the link only (what it
        points to may be another store's run)."""
        run = self.get(name)
        if run.path.is_symlink():
            run.path.unlink()
            return
        try:
            shutil.rmtree(run.path)
        except OSError as err:
            raise TunelabError(
                f"could not delete run {name!r} completely ({err.strerror or err}: "
                f"{err.filename}). Check the permissions of {str(run.path)!r} and try again."
            ) from None


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"  # pragma: no cover


#: Run statuses that finished training (a sweep's winner or a trial's value comes from these).
WINNING_STATUSES = ("completed", "stopped-early")


def value_slug(value: Any) -> str:
    """A value as it appears in a run name: 0.003, 1e-05, none, true, flip_rot90."""
    if value is None or value == []:
        text = "none"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, list):
        text = "_".join(str(part) for part in value)
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "value"
