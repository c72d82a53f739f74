"""What every command that trains says about its data first: one line per fact."""

from __future__ import annotations

from typing import Any

from tunelab.cli.console import console, err_console


def data_lines(dataset: Any, hp: Any) -> list[str]:
    """What the user should know about the data before training: the layout, unlabelled
    rows, the input size and the validation split, one line each."""
    note = dataset.split(hp.validation_fraction, hp.validation_seed, hp.use_manifest_split)[2]
    lines = [*dataset.notes, note]
    if not any(line.startswith("input size") for line in lines):
        height, width = dataset.input_size
        lines.insert(0, f"input size {height}x{width} (height x width).")
    return lines


def show_data_lines(dataset: Any, hp: Any, quiet: bool = False, split: bool = True) -> None:
    """Print :func:`data_lines` to stdout unless ``quiet`` (``--json``); ``split=False``
    leaves out the validation-split line (a sweep whose runs split differently)."""
    if quiet:
        return
    for line in data_lines(dataset, hp):
        if split or not line.startswith("validation split"):
            console.print(line, markup=False, soft_wrap=True)


def show_skipped(dataset: Any, where: str, quiet: bool = False) -> None:
    """One line on stderr for the files ``--skip-bad`` left out, and where all are listed."""
    if quiet or not dataset.skipped:
        return
    from tunelab.data.problems import skipped_summary

    line = skipped_summary(dataset.skipped, where)
    err_console.print(line, style="yellow", markup=False, soft_wrap=True)
