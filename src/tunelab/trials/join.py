"""``tunelab worker``: join a study made by ``tunelab tune`` and train its trials here.

The study records what a worker needs (:func:`image_record`): the objective's import
path and keywords, the data set's classes and size, and the artifacts folder; the worker
checks it has the same data, then runs the generic loop of :func:`tunelab.search.worker.join`.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from tunelab.errors import TunelabError
from tunelab.search.results import TuneResult
from tunelab.search.session import Callback
from tunelab.search.worker import join, study_settings
from tunelab.trials.data import data_source, trial_dataset


def artifacts_folder(path: str | os.PathLike[str]) -> str:
    """The folder that trial runs go to, made if missing: one path every worker can reach."""
    folder = Path(path).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TunelabError(
            f"cannot create the artifacts folder {os.fspath(path)!r}: {exc.strerror or exc}. "
            f"Give a folder this machine can write, e.g. a shared mount such as /mnt/runs."
        ) from None
    if not os.access(folder, os.W_OK):
        raise TunelabError(
            f"the artifacts folder {folder} is not writable here. Give a folder this machine "
            f"can write (every worker writes its trials' run folders there)."
        )
    return str(folder)


def image_record(
    objective: functools.partial[float],
    *,
    data: str,
    dataset: Any,
    artifacts: str,
    keep_weights: int | None,
) -> dict[str, Any]:
    """What ``tunelab worker`` needs to train this study's trials on another machine.

    The objective is recorded as its function's import path and its keyword arguments
    (minus the data path and the artifacts folder, which are the worker's own), so a
    worker trains exactly as the creating process does.
    """
    func = objective.func
    keywords = {k: v for k, v in objective.keywords.items() if k not in ("data", "store")}
    return {
        "images": {
            "objective": f"{func.__module__}:{func.__qualname__}",
            "keywords": json.loads(json.dumps(keywords, default=str)),
            "data": data,
            "classes": [str(name) for name in dataset.class_names],
            "size": len(dataset.labels),
            "artifacts": artifacts,
            "keep_weights": keep_weights,
        }
    }


def join_images(
    data: str | os.PathLike[str],
    *,
    storage: str,
    study_name: str,
    artifacts: str | os.PathLike[str] | None = None,
    callbacks: Sequence[Callback] | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> TuneResult:
    """Join a study made by :func:`~tunelab.trials.images.tune_images` (``tunelab tune``).

    ``data`` is this machine's path to the study's data set (same images, same classes);
    ``artifacts`` is where trial runs go, by default the folder the study recorded.
    ``callbacks`` run after each trial this worker finishes.
    """
    from tunelab.knobs import Hyperparameters

    settings = study_settings(storage, study_name)
    record = settings.get("images")
    if not isinstance(record, Mapping) or ":" not in str(record.get("objective", "")):
        raise TunelabError(
            f"study {study_name!r} was not made by `tunelab tune` on images, so `tunelab "
            f"worker` cannot train its trials. From Python, join it with "
            f"tunelab.search.worker.join(objective, storage=..., study_name=...)."
        )
    module, _, name = str(record["objective"]).partition(":")
    if module != "tunelab" and not module.startswith("tunelab."):
        raise TunelabError(
            f"study {study_name!r} records the objective {record['objective']!r}, which is not "
            f"tunelab's; `tunelab worker` runs only tunelab's own objectives."
        )
    func = getattr(import_module(module), name)
    source = data_source(os.fspath(data))
    keywords = dict(record.get("keywords", {}))
    hp = Hyperparameters.parse(keywords.get("base", {}))
    dataset = trial_dataset(source, hp.input_size, bool(keywords.get("skip_bad", False)))
    _check_same_data(dataset, record, source, study_name)
    root = artifacts_folder(artifacts if artifacts is not None else record["artifacts"])
    objective = functools.partial(func, data=source, store=root, **keywords)
    callbacks = list(callbacks or ())
    keep = record.get("keep_weights")
    if isinstance(keep, int):
        from tunelab.trials.weights import KeepBestWeights

        callbacks.append(KeepBestWeights(root, keep))
    return join(
        objective,
        storage=storage,
        study_name=study_name,
        callbacks=callbacks,
        stop_requested=stop_requested,
    )


def _check_same_data(dataset: Any, record: Mapping[str, Any], source: str, study: str) -> None:
    classes = [str(name) for name in dataset.class_names]
    if classes == record.get("classes") and len(dataset.labels) == record.get("size"):
        return
    raise TunelabError(
        f"{source} holds {len(dataset.labels)} images in classes {_few(classes)}, but study "
        f"{study!r} tunes on {record.get('size')} images in classes "
        f"{_few(record.get('classes') or [])} ({record.get('data')}). Give every worker the "
        f"same data set: a copy, or one shared folder."
    )


def _few(names: Sequence[str], shown: int = 5) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
