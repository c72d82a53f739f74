"""`tunelab runs list | show | compare | delete`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tunelab.cli.console import RUNS_DIR, console, fmt, fmt_knob, print_json
from tunelab.runs import RunStore

app = typer.Typer(help="List, show, compare and delete stored runs.", no_args_is_help=True)


@app.command("list")
def list_runs(
    runs_dir: Path | None = RUNS_DIR, as_json: bool = typer.Option(False, "--json")
) -> None:
    """One line per run: its data set, the knobs that set it apart from the other runs,
    status, model, optimizer, learning rate, best validation accuracy (95 % interval, n)."""
    from tunelab.report.leaderboard import accuracy_fields, accuracy_text
    from tunelab.runs.naming import dataset_name

    store = RunStore(runs_dir)
    runs = store.list()
    configs = [run.config for run in runs]
    apart = _differences(configs)
    rows = []
    for run, config, differs in zip(runs, configs, apart, strict=True):
        summary = run.summary
        data = summary.get("data") or run.model_info.get("data")
        rows.append(
            {
                "run": run.name,
                "data": dataset_name(str(data)) if data else None,
                "differs": differs,
                "status": run.status,
                "model": run.model_name,
                "optimizer": config.get("optimizer"),
                "learning_rate": config.get("learning_rate"),
                "epochs": summary.get("epochs_run"),
                "best_val_accuracy": summary.get("best_val_accuracy"),
                **accuracy_fields(summary.get("best_val_accuracy"), summary.get("n_val")),
            }
        )
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no runs in {store.root} yet: try `tunelab train digits`.")
        return
    table = Table(title=f"runs in {store.root}")
    columns = ("run", "data", "differs", "status", "model", "optimizer", "learning_rate")
    for column in (*columns, "epochs", "best val accuracy (95%, n)"):
        table.add_column(column, overflow="fold")
    for row in rows:
        apart_text = ", ".join(f"{k}={fmt_knob(v)}" for k, v in row["differs"].items()) or "-"
        table.add_row(
            row["run"],
            fmt(row["data"]),
            apart_text,
            row["status"],
            fmt(row["model"]),
            fmt(row["optimizer"]),
            fmt_knob(row["learning_rate"]),
            fmt(row["epochs"]),
            accuracy_text(row["best_val_accuracy"], row["n"], digits=3),
        )
    console.print(table)


#: Knobs never shown as a difference: they change speed, not what is learnt.
_QUIET_KNOBS = ("device", "precision", "threads")


def _differences(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per run, the knobs whose value is not the most common one among the runs listed
    (what tells five runs of one sweep apart: the value swept)."""
    from collections import Counter

    keys = sorted({k for c in configs for k in c if k not in _QUIET_KNOBS})
    usual: dict[str, str | None] = {}
    for key in keys:
        counts = Counter(repr(c.get(key)) for c in configs).most_common(2)
        # no single most common value (e.g. a sweep's five values): every run shows its own
        tie = len(counts) > 1 and counts[0][1] == counts[1][1]
        usual[key] = None if tie else counts[0][0]
    return [{key: c.get(key) for key in keys if repr(c.get(key)) != usual[key]} for c in configs]


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Run name, or 'latest'."),
    runs_dir: Path | None = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The run's knobs, summary and per-epoch curve."""
    run = RunStore(runs_dir).get(name)
    data = {"summary": run.summary, "config": run.config, "epochs": run.epochs}
    if as_json:
        print_json(data)
        return
    from tunelab.cli.train import show_summary

    table = Table(title=f"{run.name}: per epoch")
    for column in (
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    ):
        table.add_column(column)
    for row in run.epochs:
        table.add_row(
            str(int(row["epoch"])),
            *(fmt(row[c]) for c in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")),
            f"{row['learning_rate']:.3g}",
        )
    console.print(table)
    config = run.config
    console.print("knobs: " + ", ".join(f"{k}={fmt_knob(v)}" for k, v in config.items()))
    summary = run.summary
    if summary and not summary.get("diagnosis"):
        from tunelab.diagnosis import diagnose_run

        summary["diagnosis"] = diagnose_run(run).to_dict()
    if summary:
        show_summary(summary, run.path)


@app.command("compare")
def compare(
    names: list[str] = typer.Argument(..., help="Two or more run names."),
    runs_dir: Path | None = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The knobs that differ between runs, beside their results."""
    store = RunStore(runs_dir)
    runs = [store.get(name) for name in names]
    configs = [run.config for run in runs]
    keys = sorted({k for c in configs for k in c})
    differing = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    metrics = ["status", "best_val_accuracy", "best_val_loss", "best_epoch", "train_seconds"]
    if as_json:
        print_json(
            [
                {
                    "run": run.name,
                    **{k: c.get(k) for k in differing},
                    **{m: run.summary.get(m) for m in metrics},
                }
                for run, c in zip(runs, configs, strict=True)
            ]
        )
        return
    table = Table(title="knobs that differ, and results")
    table.add_column("")
    for run in runs:
        table.add_column(run.name)
    for key in differing:
        table.add_row(key, *(fmt_knob(c.get(key)) for c in configs))
    for metric in metrics:
        table.add_row(f"[bold]{metric}", *(fmt(run.summary.get(metric)) for run in runs))
    console.print(table)


@app.command("delete")
def delete(
    names: list[str] = typer.Argument(..., help="Run names to delete."),
    runs_dir: Path | None = RUNS_DIR,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete runs (asks first unless --yes)."""
    store = RunStore(runs_dir)
    runs = [store.get(name) for name in names]  # every name checked before anything is deleted
    if not yes and not typer.confirm(f"delete {len(runs)} run(s): {', '.join(names)}?"):
        raise typer.Exit(1)
    for run in runs:
        store.delete(run.name)
        console.print(f"deleted {run.name}")
