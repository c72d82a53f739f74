"""The run store: every run is a folder with its config, metrics, summary and weights."""

from tunelab.runs.store import Run, RunStore, check_name, default_root

__all__ = ["Run", "RunStore", "check_name", "default_root"]
