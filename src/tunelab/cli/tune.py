"""`tunelab tune DATA`: search every knob at once, stopping bad trials early."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunelab.cli.console import console, fmt, print_json
from tunelab.cli.knob_flags import with_knob_flags


@with_knob_flags
def tune_command(
    data: str = typer.Argument(..., help="Image folder, CSV manifest or 'digits'."),
    strategy: str = typer.Option("auto", help="grid, random, tpe, gp, cmaes or auto."),
    pruner: str = typer.Option("auto", help="asha, hyperband, median, none or auto."),
    budget: str | None = typer.Option(None, help="Wall-clock budget, e.g. 20m, 90s, 1h."),
    trials: int | None = typer.Option(None, help="Stop after this many trials."),
    workers: int = typer.Option(1, help="Trials run in this many local processes."),
    space: Path | None = typer.Option(None, "--space", help="YAML/JSON search space file."),
    fix: list[str] | None = typer.Option(None, "--fix", help="Fix a knob: optimizer=adam."),
    range_: list[str] | None = typer.Option(
        None, "--range", help="Search a knob in a range: learning_rate=1e-4:1e-1."
    ),
    study: str | None = typer.Option(None, "--study", help="Study name (to resume it later)."),
    storage: str | None = typer.Option(
        None, "--storage", help="Optuna storage URL (default: SQLite in the run store)."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the study named by --study."),
    config: Path | None = typer.Option(None, "--config", help="Base knobs (YAML or JSON)."),
    runs_dir: Path | None = typer.Option(None, "--runs-dir", envvar="TUNELAB_RUNS"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    **knobs: Any,
) -> None:
    """Tune all knobs automatically (grid, random, Bayesian) with early stopping."""
    import optuna

    from tunelab.cli.train import load_knobs
    from tunelab.errors import TunelabError, unknown_choice
    from tunelab.search.images import build_space, parse_budget
    from tunelab.search.pruners import PRUNERS
    from tunelab.search.strategies import STRATEGIES

    if trials is not None and trials < 1:
        raise TunelabError(f"--trials must be at least 1 (got {trials}). Try --trials 20.")
    if workers < 1:
        raise TunelabError(f"--workers must be at least 1 (got {workers}). Try --workers 1.")
    if strategy not in STRATEGIES:
        raise unknown_choice("strategy", strategy, STRATEGIES)
    if pruner not in PRUNERS:
        raise unknown_choice("pruner", pruner, PRUNERS)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    hp = load_knobs(config, knobs)
    seconds = parse_budget(budget) if budget is not None else None
    if seconds is None and trials is None and strategy != "grid":
        trials = 20
    searched = build_space(space_file=space, fixes=fix or (), ranges=range_ or ())
    from tunelab.search.images import tune_images

    if not as_json:
        names = ", ".join(searched)
        limit = f"{budget} budget" if budget else f"{trials} trials"
        # stdout: stderr is kept for warnings and the one-line error, if any
        console.print(f"tuning {names} on {data} ({limit}, {hp.epochs} epochs max)...")
    result = tune_images(
        data,
        hp,
        space=searched,
        store=runs_dir,
        study_name=study,
        storage=storage,
        strategy=strategy,
        pruner=pruner,
        n_trials=trials,
        budget_seconds=seconds,
        workers=workers,
        resume=resume,
    )
    best_file = _write_best(result, hp, runs_dir)
    if as_json:
        print_json(
            {
                "study": result.study_name,
                "storage": result.storage,
                "stopped": result.stopped_reason,
                "best_value": result.best_value,
                "best_params": result.best_params,
                "best_config": str(best_file or ""),
                "trials": [_row(t) for t in result.trials],
            }
        )
        return
    _leaderboard(result)
    console.print(result.summary())
    if best_file is not None:
        console.print(
            f"best knobs written to {best_file}: `tunelab train {data} --config "
            f"{best_file}` trains with them."
        )
    console.print(f"resume with: tunelab tune {data} --study {result.study_name} --resume")


def _row(trial: Any) -> dict[str, Any]:
    return {
        "number": trial.number,
        "status": trial.status,
        "value": trial.value,
        "params": trial.params,
        "duration": trial.duration,
    }


def _leaderboard(result: Any, top: int = 10) -> None:
    from rich.table import Table

    ranked = sorted(
        (t for t in result.trials if t.value is not None),
        key=lambda t: t.value,
        reverse=result.direction == "maximize",
    )
    table = Table(title=f"leaderboard: {result.study_name}")
    for column in ("trial", "val accuracy", "status", "seconds", "knobs"):
        table.add_column(column)
    for trial in ranked[:top]:
        knobs = ", ".join(f"{k}={fmt(v, 4)}" for k, v in trial.params.items())
        table.add_row(
            str(trial.number), fmt(trial.value), trial.status, fmt(trial.duration, 1), knobs
        )
    console.print(table)


def _write_best(result: Any, hp: Any, runs_dir: Path | None) -> Path | None:
    if result.best_params is None:
        return None
    from tunelab.runs import RunStore

    folder = RunStore(runs_dir).root / "studies"
    folder.mkdir(parents=True, exist_ok=True)
    best = hp.replace(**result.best_params)
    return best.save(folder / f"{result.study_name}-best.yaml")
