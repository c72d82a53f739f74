"""Decode once: the decoded data set is kept as one uncompressed ``.npz`` file.

Where: the ``cache_dir`` argument, else ``$TUNELAB_CACHE_DIR``, else
``~/.cache/tunelab/datasets``. A file is named ``<source id>-<fingerprint>.npz``: the
source id hashes the source path, input size and ``skip_bad``; the fingerprint adds every
file's path, size and modification time. A changed file therefore gets a new name, and the
stale file of the same source is deleted when the new one is written.

Each file holds ``images``, ``labels`` and a JSON ``meta`` string (class names, paths,
skipped files, notes, the split column, unlabelled paths, max value, the fingerprint and a
checksum of the arrays); no pickles. A file
that fails to load, has another fingerprint or a wrong checksum is deleted and rebuilt.
Writes go to a temporary file first and are moved into place with ``os.replace``; when the
folder cannot be written, loading warns and carries on without a cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.data.dataset import ImageDataset

CACHE_ENV = "TUNELAB_CACHE_DIR"
FORMAT_VERSION = 2  # 2: notes, partition and unlabelled paths


def cache_dir(given: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``given``, else ``$TUNELAB_CACHE_DIR``, else the default."""
    if given is not None:
        return Path(given).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "tunelab" / "datasets"


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def cache_file(
    directory: Path,
    *,
    source: Path,
    input_size: tuple[int, int] | None,
    skip_bad: bool,
    stamp: list[tuple[str, int, int]],
) -> tuple[Path, str]:
    """Return ``(file path, fingerprint)`` for a data set built from these inputs."""
    settings = {
        "version": FORMAT_VERSION,
        "source": str(source.resolve()),
        "input_size": list(input_size) if input_size else None,
        "skip_bad": skip_bad,
    }
    source_id = _digest(settings)[:16]
    fingerprint = _digest({**settings, "files": stamp})
    return directory / f"{source_id}-{fingerprint[:16]}.npz", fingerprint


def _checksum(images: np.ndarray, labels: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in (images, labels):
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(np.ascontiguousarray(array).view(np.uint8).reshape(-1).data)
    return digest.hexdigest()


def read_cache(path: Path, fingerprint: str) -> ImageDataset | None:
    """Load a cached data set, or return ``None`` (deleting the file) if it is unusable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"][()]))
            images, labels = arrays["images"], arrays["labels"]
        if meta["fingerprint"] != fingerprint or meta["checksum"] != _checksum(images, labels):
            raise ValueError("stale or corrupt cache file")
        return ImageDataset(
            images=images,
            labels=labels,
            class_names=list(meta["class_names"]),
            max_value=float(meta["max_value"]),
            paths=list(meta["paths"]),
            skipped=[(str(p), str(r)) for p, r in meta["skipped"]],
            source=str(meta["source"]),
            from_cache=True,
            notes=[str(note) for note in meta["notes"]],
            partition=None if meta["partition"] is None else np.array(meta["partition"]),
            unlabelled=[str(path) for path in meta["unlabelled"]],
        )
    except MemoryError:
        raise
    except Exception:  # any failure to load means: rebuild it
        _remove(path)
        return None


def write_cache(path: Path, dataset: ImageDataset, fingerprint: str) -> bool:
    """Write ``dataset`` atomically; warn and return False when that is not possible."""
    meta = {
        "version": FORMAT_VERSION,
        "fingerprint": fingerprint,
        "checksum": _checksum(dataset.images, dataset.labels),
        "class_names": dataset.class_names,
        "max_value": dataset.max_value,
        "paths": dataset.paths,
        "skipped": dataset.skipped,
        "source": dataset.source,
        "notes": dataset.notes,
        "partition": None if dataset.partition is None else dataset.partition.tolist(),
        "unlabelled": dataset.unlabelled,
    }
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                images=dataset.images,
                labels=dataset.labels,
                meta=np.array(json.dumps(meta)),
            )
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            _remove(Path(tmp))
        warnings.warn(
            f"cannot write the data set cache in {str(path.parent)!r} ({exc}); continuing "
            f"without a cache. Set {CACHE_ENV} or cache_dir to a writable folder.",
            stacklevel=3,
        )
        return False
    source_id = path.name.split("-")[0]
    for stale in path.parent.glob(f"{source_id}-*.npz"):
        if stale != path:
            _remove(stale)
    return True


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
