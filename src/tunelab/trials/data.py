"""The data set of a study's trials, decoded once per process and shared by its trials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_DATASETS: dict[tuple[str, Any, bool], Any] = {}  # decoded once per worker process, not per trial


def data_source(data: str | Path) -> str:
    """How a study names its data: ``digits`` as is, a path resolved (trials may run in
    other folders, or on other machines that mount the same path)."""
    return "digits" if str(data) == "digits" else str(Path(data).resolve())


def trial_dataset(source: str, input_size: Any, skip_bad: bool = False) -> Any:
    """The :class:`~tunelab.data.ImageDataset` at ``source``, loaded on first use only;
    ``skip_bad`` leaves unreadable files out (listed in its ``skipped``)."""
    key = (source, input_size, skip_bad)
    if key not in _DATASETS:
        from tunelab.data import load_dataset

        _DATASETS[key] = load_dataset(source, input_size=input_size, skip_bad=skip_bad)
    return _DATASETS[key]
