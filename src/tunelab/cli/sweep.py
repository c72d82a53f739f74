"""`tunelab sweep DATA --vary KNOB [--values v1,v2,...] [knob flags] [--workers K]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunelab.cli.console import RUNS_DIR, console, err_console, fmt, print_json
from tunelab.cli.knob_flags import cli_knobs, with_knob_flags
from tunelab.knobs import Hyperparameters, read_config_file


@with_knob_flags
def sweep_command(
    data: str = typer.Argument(
        ...,
        help="A folder with one sub-folder per class, a CSV manifest (path,label), or "
        "'digits' (built in).",
        show_default=False,
    ),
    vary: str = typer.Option(
        ...,
        "--vary",
        help="The knob to sweep, e.g. learning_rate, batch_size, epochs, dropout, optimizer.",
        show_default=False,
    ),
    values: str | None = typer.Option(
        None,
        "--values",
        help="Comma-separated values, e.g. 0.001,0.01,0.1 (augment: none,flip,flip+rot90). "
        "Default: the recommended ladder around the current value (learning rate in x3 "
        "steps, batch size in x2 steps, every choice of a categorical knob, ...).",
        show_default=False,
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML or JSON file of knobs; flags override it."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Runs in parallel, each in its own process (default: min(values, cores // 2)).",
        show_default=False,
    ),
    name: str | None = typer.Option(
        None, "--name", help="Sweep name; runs are named <name>-<knob>-<value>."
    ),
    runs_dir: Path | None = RUNS_DIR,
    plot: Path | None = typer.Option(
        None, "--plot", help="Where to write the PNG (default: <runs-dir>/sweeps/<name>.png)."
    ),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip unreadable images (and list them) instead of stopping."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No line per finished run."),
    as_json: bool = typer.Option(False, "--json", help="Print the sweep summary as JSON."),
    **knobs: Any,
) -> None:
    """Train once per value of one knob (same seed), and compare: table, plot and winner."""
    base = {**(read_config_file(config) if config is not None else {}), **cli_knobs(knobs)}
    from tunelab.explore.ladders import knob_name
    from tunelab.explore.sweep import sweep
    from tunelab.explore.sweep_rows import SweepInterrupted, SweepRow
    from tunelab.report.leaderboard import accuracy_text
    from tunelab.runs import RunStore

    field = knob_name(vary)
    RunStore(runs_dir).names()  # a store that is a file fails once, before any run
    hp = Hyperparameters.parse(base)  # validated here, once; sweep() takes it as it is
    if not as_json and field not in ("input_height", "input_width"):  # one size per run
        _show_data(data, hp, field, skip_bad)
    total: list[int] = [0]

    def progress(row: SweepRow) -> None:
        total[0] += 1
        line = f"{field}={_show(row.value)}: {row.status}"
        if row.best_val_accuracy is not None:
            line += f", best validation accuracy {accuracy_text(row.best_val_accuracy, row.n_val)}"
        if row.seconds is not None:
            line += f" ({row.seconds:.1f} s)"
        if row.error:
            line += f": {row.error}"
        err_console.print(f"[dim]run {total[0]} done:[/] {line}")

    try:
        result = sweep(
            data,
            field,
            values,
            hp,
            store=runs_dir,
            workers=workers,
            name=name,
            skip_bad=skip_bad,
            plot=plot,
            on_row=None if (quiet or as_json) else progress,
            on_stop=lambda: err_console.print(
                "stopping: the runs in progress save what they have, then the table follows."
            ),
        )
    except SweepInterrupted as stop:
        if as_json:
            print_json(stop.result.to_dict())
        else:
            show_sweep(stop.result)
        err_console.print("interrupted: the runs that finished are kept in the run store.")
        raise typer.Exit(130) from None
    if as_json:
        print_json(result.to_dict())
    else:
        show_sweep(result)
    if result.winner is None:
        raise typer.Exit(3)


def _show_data(data: str, hp: Any, field: str, skip_bad: bool) -> None:
    """The train command's data lines; the split line only when every run shares it."""
    from tunelab.cli.data_notes import show_data_lines, show_skipped
    from tunelab.data import load_dataset

    dataset = load_dataset(data, input_size=hp.input_size, skip_bad=skip_bad)
    shared = field not in ("validation_fraction", "validation_seed", "use_manifest_split")
    show_data_lines(dataset, hp, split=shared)
    show_skipped(dataset, 'each run\'s summary.json ("skipped")')


def show_sweep(result: Any) -> None:
    """The table of values, the winner, and where the runs, summary and plot are."""
    from rich.table import Table

    from tunelab.report.leaderboard import accuracy_text

    winner = result.winner
    verdicts = any(row.verdict for row in result.rows)
    title = f"sweep {result.sweep}: {result.knob}"
    if result.mode == "shared-curve":
        title += " (one run; shorter budgets read from its curve)"
    table = Table(title=title)
    for column in (
        result.knob,
        "final val acc",
        "best val acc",
        "95% interval",
        "best val loss",
        "best epoch",
        "time (s)",
        "status",
    ):
        table.add_column(column, justify="left" if column in (result.knob, "status") else "right")
    if verdicts:
        table.add_column("diagnosis")
    for row in result.rows:
        best = winner is not None and row is winner
        status = row.status + (f": {row.error}" if row.error else "")
        cells = [
            _show(row.value) + (" *" if best else ""),
            fmt(row.final_val_accuracy),
            fmt(row.best_val_accuracy),
            _interval(row),
            fmt(row.best_val_loss),
            fmt(row.best_epoch),
            fmt(row.seconds, 1),
            status,
        ]
        if verdicts:
            cells.append(row.verdict or "-")
        table.add_row(*cells, style="bold green" if best else None)
    console.print(table)
    if winner is not None:
        console.print(
            f"winner: {result.knob} = {_show(winner.value)} (best validation accuracy "
            f"{accuracy_text(winner.best_val_accuracy, winner.n_val)}, loss "
            f"{fmt(winner.best_val_loss)}; run {winner.run})"
        )
        if result.noise_warning:
            console.print(f"[yellow]warning:[/yellow] {result.noise_warning}")
    else:
        console.print("[red]no winner:[/] no run completed.")
    if result.plot_path is not None:
        console.print(f"plot: {result.plot_path}")
    if result.summary_path is not None:
        console.print(f"summary: {result.summary_path}")


def _interval(row: Any) -> str:
    bounds = row.interval
    return "-" if bounds is None else f"{bounds[0]:.3f} to {bounds[1]:.3f} (n={row.n_val})"


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, list):
        return "+".join(value) or "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
