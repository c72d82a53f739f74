"""`tunelab train DATA [knob flags] [--config FILE]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunelab.cli.console import RUNS_DIR, console, err_console, fmt, print_json
from tunelab.cli.data_notes import show_data_lines
from tunelab.cli.knob_flags import cli_knobs, with_knob_flags
from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters, read_config_file


def load_knobs(config: Path | None, values: dict[str, Any]) -> Hyperparameters:
    """Config file first, then flags on top: validated once, here, into the model that
    travels on (``learning_rate: auto`` stays ``"auto"``; training resolves it)."""
    base = read_config_file(config) if config is not None else {}
    return Hyperparameters.parse({**base, **cli_knobs(values)})


@with_knob_flags
def train_command(
    data: str | None = typer.Argument(
        None,
        help="A folder with one sub-folder per class, a CSV manifest (path,label), or "
        "'digits' (built in). Optional with --resume (the run's data).",
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
    resume: str | None = typer.Option(
        None,
        "--resume",
        metavar="RUN",
        help="Continue RUN from its last checkpoint, in the same run, up to --epochs in all.",
    ),
    **knobs: Any,
) -> None:
    """Train a classifier on DATA with every knob under your control."""
    if resume is not None:
        if config is not None:
            raise TunelabError(
                f"--resume continues run {resume!r} with its own knobs; --config cannot change "
                f"them. Drop --config, or start a new run from its weights: --init-from {resume}."
            )
        return _resume(resume, data, knobs, runs_dir, skip_bad, quiet, as_json)
    if data is None:
        raise TunelabError(
            "missing DATA: give a folder of class sub-folders, a CSV manifest or 'digits' "
            "(or --resume RUN to continue a run)."
        )
    hp = load_knobs(config, knobs)
    from tunelab.api import train
    from tunelab.data import load_dataset

    dataset = load_dataset(data, input_size=hp.input_size, skip_bad=skip_bad)
    show_data_lines(dataset, hp, quiet=as_json)

    callbacks = _progress(quiet or as_json)
    try:
        run = train(dataset, hp, store=runs_dir, name=name, callbacks=callbacks, skip_bad=skip_bad)
    except KeyboardInterrupt:
        err_console.print("interrupted: the epochs that finished are saved in the run store.")
        raise typer.Exit(130) from None
    _finish(run, as_json)


def _progress(silent: bool) -> list[Any]:
    if silent:
        return []
    from tunelab.cli.progress import ProgressBar

    return [ProgressBar()]


def _resume(
    name: str,
    data: str | None,
    knobs: dict[str, Any],
    runs_dir: Path | None,
    skip_bad: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """`--resume RUN`: only --epochs (the new total) and --threads may change."""
    given = cli_knobs(knobs)
    changed = sorted(set(given) - {"epochs", "threads"})
    if changed:
        raise TunelabError(
            f"--resume continues run {name!r} with its own knobs, so "
            f"--{changed[0].replace('_', '-')} cannot change (only --epochs and --threads "
            "can). To train with other knobs, "
            f"start a new run from its weights: --init-from {name}."
        )
    checked = Hyperparameters.parse(given)  # one-line errors for a bad --epochs
    from tunelab.report.curves import PlotCurves
    from tunelab.training.trainer import resume

    try:
        run = resume(
            name,
            store=runs_dir,
            epochs=checked.epochs if "epochs" in given else None,
            threads=checked.threads,
            data=data,
            callbacks=[*_progress(quiet or as_json), PlotCurves()],
            skip_bad=skip_bad,
        )
    except KeyboardInterrupt:
        err_console.print("interrupted: the epochs that finished are saved in the run store.")
        raise typer.Exit(130) from None
    _finish(run, as_json)


def _finish(run: Any, as_json: bool) -> None:
    summary = run.summary
    if summary.get("learning_rate_auto") is not None and not as_json:
        console.print(
            f"learning rate (auto, from the range test): {summary['learning_rate_auto']:g}"
        )
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
    from tunelab.report.leaderboard import accuracy_text

    measured = accuracy_text(summary.get("final_val_accuracy"), summary.get("n_val"))
    console.print(
        f"validation accuracy {measured} "
        f"(best of any epoch {fmt(summary.get('best_val_accuracy'))}), "
        f"loss {fmt(summary.get('final_val_loss'))} "
        f"(best {fmt(summary.get('best_val_loss'))} at epoch {fmt(summary.get('best_epoch'))})"
    )
    diagnosis = summary.get("diagnosis")
    if diagnosis:
        console.print(f"[bold]diagnosis:[/] {diagnosis.get('text', '')}")
    console.print(f"run saved in {path}")
