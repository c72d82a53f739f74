"""`tunelab train DATA [knob flags] [--config FILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunelab.cli.console import RUNS_DIR, console, err_console, fmt, print_json
from tunelab.cli.knob_flags import cli_knobs, with_knob_flags
from tunelab.knobs import Hyperparameters, is_auto, read_config_file


def load_knobs(
    config: Path | None, values: dict[str, Any], data: str | None = None, skip_bad: bool = False
) -> Hyperparameters:
    """Config file first, then flags on top; validated once.

    With ``data``, ``--learning-rate auto`` runs the learning-rate range test on it.
    """
    base = read_config_file(config) if config is not None else {}
    merged = {**base, **cli_knobs(values)}
    if data is None:
        return Hyperparameters.parse(merged)
    from tunelab.training.trainer import as_hyperparameters

    return as_hyperparameters(merged, {}, data, skip_bad)


@with_knob_flags
def train_command(
    data: str = typer.Argument(
        ...,
        help="A folder with one sub-folder per class, a CSV manifest (path,label), or "
        "'digits' (built in).",
        show_default=False,
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML or JSON file of knobs; flags override it."
    ),
    name: str | None = typer.Option(None, "--name", help="Name of the run folder."),
    runs_dir: Path | None = RUNS_DIR,
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip unreadable images (and list them) instead of stopping."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
    **knobs: Any,
) -> None:
    """Train a classifier on DATA with every knob under your control."""
    auto = is_auto(cli_knobs(knobs).get("learning_rate"))
    hp = load_knobs(config, knobs, data, skip_bad)
    if auto and not as_json:
        console.print(f"learning rate (auto, from the range test): {hp.learning_rate:g}")
    from tunelab.api import train
    from tunelab.data import load_dataset

    dataset = load_dataset(data, input_size=hp.input_size, skip_bad=skip_bad)
    if not as_json:
        for line in data_lines(dataset, hp):
            console.print(line, markup=False, soft_wrap=True)

    callbacks = []
    if not (quiet or as_json):
        from tunelab.cli.progress import ProgressBar

        callbacks.append(ProgressBar())
    try:
        run = train(dataset, hp, store=runs_dir, name=name, callbacks=callbacks, skip_bad=skip_bad)
    except KeyboardInterrupt:
        err_console.print("interrupted: the epochs that finished are saved in the run store.")
        raise typer.Exit(130) from None
    summary = run.summary
    if as_json:
        print_json(summary)
    else:
        show_summary(summary, run.path)
    if summary["status"] == "diverged":
        raise typer.Exit(3)


def show_summary(summary: dict[str, Any], path: Path) -> None:
    for message in summary.get("warnings", []):
        err_console.print(f"[yellow]warning:[/] {message}")
    if summary.get("skipped"):
        from tunelab.data.problems import skipped_summary

        where = f'{path / "summary.json"} ("skipped")'
        line = skipped_summary(summary["skipped"], where)
        err_console.print(line, style="yellow", markup=False, soft_wrap=True)
    status = summary["status"]
    colour = {"completed": "green", "stopped-early": "green", "diverged": "red"}.get(
        status, "yellow"
    )
    console.print(
        f"[{colour}]{status}[/] after {summary['epochs_run']}/{summary['epochs_planned']} epochs"
        f" in {summary['train_seconds']:.1f} s"
        + (f" ({summary['reason']})" if summary.get("reason") else "")
    )
    console.print(
        f"validation accuracy {fmt(summary.get('final_val_accuracy'))} "
        f"(best {fmt(summary.get('best_val_accuracy'))}), "
        f"loss {fmt(summary.get('final_val_loss'))} "
        f"(best {fmt(summary.get('best_val_loss'))} at epoch {fmt(summary.get('best_epoch'))})"
    )
    diagnosis = summary.get("diagnosis")
    if diagnosis:
        console.print(f"[bold]diagnosis:[/] {diagnosis.get('text', '')}")
    console.print(f"run saved in {path}")


def data_lines(dataset: Any, hp: Hyperparameters) -> list[str]:
    """What the user should know about the data before training: the layout, unlabelled
    rows, the input size and the validation split, one line each."""
    note = dataset.split(hp.validation_fraction, hp.seed, hp.use_manifest_split)[2]
    lines = [*dataset.notes, note]
    if not any(line.startswith("input size") for line in lines):
        height, width = dataset.input_size
        lines.insert(0, f"input size {height}x{width} (height x width).")
    return lines
