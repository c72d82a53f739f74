"""`tunelab tune DATA`: search every knob at once, stopping bad trials early."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tunelab.cli.cluster_flags import pop_cluster_flags, with_cluster_flags
from tunelab.cli.console import RUNS_DIR, console, print_json
from tunelab.cli.knob_flags import with_knob_flags


@with_knob_flags
@with_cluster_flags
def tune_command(
    data: str = typer.Argument(..., help="Image folder, CSV manifest or 'digits'."),
    strategy: str = typer.Option("auto", help="grid, random, tpe, gp, cmaes or auto."),
    pruner: str = typer.Option("auto", help="asha, hyperband, median, none or auto."),
    budget: str | None = typer.Option(
        None, help="Wall-clock budget, e.g. 20m, 90s, 1h (default, with no --trials: 10m)."
    ),
    trials: int | None = typer.Option(
        None, help="Stop after this many trials (default, with no --budget: 20)."
    ),
    workers: int | None = typer.Option(
        None,
        help="Trials run at once: local processes (default 1) or Ray tasks (default: what "
        "the cluster fits). 0: run none here, for `tunelab worker` on other machines.",
    ),
    reproducible: bool = typer.Option(
        True,
        "--reproducible/--free",
        help="With --workers > 1: trial n learns only from trials 0..n-workers (waiting for "
        "them), so the same seed gives the same study. --free: from whatever has finished; "
        "more trials per minute, but a rerun gives another study.",
    ),
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
    runs_dir: Path | None = RUNS_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    keep_weights: int = typer.Option(
        5, "--keep-weights", help="Only the best K trials keep model.safetensors."
    ),
    ensemble: int = typer.Option(
        5,
        "--ensemble",
        help="Mix the best K trials (of those keeping weights) into one model, "
        "<study>-ensemble, chosen on the validation split; 0: none.",
    ),
    portfolio: bool = typer.Option(
        True,
        "--portfolio/--no-portfolio",
        help="Try the warm-start portfolio's settings first (chosen offline on four data "
        "sets); --no-portfolio: the strategy samples from the first trial.",
    ),
    cv: int | None = typer.Option(
        None, "--cv", help="Score each trial by K-fold cross-validation (small data)."
    ),
    retrain_best: bool = typer.Option(
        False, "--retrain-best", help="Retrain the best knobs on all data as <study>-best."
    ),
    report: bool = typer.Option(
        True, "--report/--no-report", help="Write PNG plots and <study>-report.html."
    ),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip unreadable images (and list them) instead of stopping."
    ),
    **knobs: Any,
) -> None:
    """Tune all knobs automatically (grid, random, Bayesian) with early stopping."""
    import optuna

    from tunelab.cli.train import load_knobs
    from tunelab.errors import TunelabError, unknown_choice
    from tunelab.search.pruners import PRUNERS
    from tunelab.search.storage import display_url
    from tunelab.search.strategies import STRATEGIES
    from tunelab.trials.images import build_space, parse_budget

    if resume and study is None:
        raise TunelabError(
            "--resume needs --study NAME: the study to continue (the name the first run "
            "printed; `ls <run store>/studies` lists them)."
        )
    if trials is not None and trials < 1:
        raise TunelabError(f"--trials must be at least 1 (got {trials}). Try --trials 20.")
    if workers is not None and workers < 0:
        raise TunelabError(
            f"--workers must be at least 0 (got {workers}). Try --workers 1, or 0 to run "
            f"trials only on `tunelab worker` machines."
        )
    cluster = pop_cluster_flags(knobs)
    if strategy not in STRATEGIES:
        raise unknown_choice("strategy", strategy, STRATEGIES)
    if pruner not in PRUNERS:
        raise unknown_choice("pruner", pruner, PRUNERS)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from tunelab.search.reporter import SHORT_TRIAL_FAILURES

    SHORT_TRIAL_FAILURES.all_errors = True  # failed trials: one line each, no traceback
    hp = load_knobs(config, knobs)
    seconds = parse_budget(budget) if budget is not None else None
    from tunelab.trials.images import default_limits

    trials, seconds = default_limits(trials, seconds, strategy)
    searched = build_space(space_file=space, fixes=fix or (), ranges=range_ or ())
    from tunelab.trials.weights import check_keep

    check_keep(keep_weights)
    from tunelab.trials.ensemble import check_size

    check_size(ensemble)
    if retrain_best and study is not None:
        from tunelab.trials.retrain import check_retrain_target

        check_retrain_target(study, runs_dir)
    from tunelab.trials.images import tune_images

    if not as_json:
        from tunelab.trials.images import TRANSFER_ONLY

        # what the trials vary: without init_from the transfer knobs are left out
        names = ", ".join(k for k in searched if hp.init_from or k not in TRANSFER_ONLY)
        limits = [f"{trials} trials"] if trials is not None else []
        if seconds is not None:
            limits.append(f"{budget or _minutes(seconds)} budget")
        limit = " or ".join(limits) or "every grid point"
        # stdout: stderr is kept for warnings and the one-line error, if any
        console.print(f"tuning {names} on {data} ({limit}, {hp.epochs} epochs max)...")
    from tunelab.cli.data_notes import show_data_lines, show_skipped
    from tunelab.trials.data import data_source, trial_dataset

    # decoded once here; the trials of this process reuse it
    dataset = trial_dataset(data_source(data), hp.input_size, skip_bad)
    show_data_lines(dataset, hp, quiet=as_json)
    show_skipped(dataset, 'each trial\'s summary.json ("skipped")', quiet=as_json)
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
        reproducible=reproducible,
        **cluster.tune_options(),
        keep_weights=keep_weights,
        ensemble=ensemble,
        portfolio=portfolio,
        cv=cv,
        progress=False if as_json else "stdout",
        skip_bad=skip_bad,
    )
    if result.stopped_reason == "no-workers":
        _show_waiting(result, data, as_json)
        return
    best_file = _write_best(result, hp, runs_dir)
    from tunelab.cli.tune_outputs import retrain, show_outputs
    from tunelab.report.study_outputs import study_outputs

    outputs = study_outputs(result.study(), store=runs_dir, report=report)
    if as_json:
        retrained = None
        if retrain_best:
            retrained = retrain(result, data, hp, runs_dir, quiet=True, skip_bad=skip_bad)
        print_json(
            {
                "study": result.study_name,
                "storage": display_url(result.storage),
                "stopped": result.stopped_reason,
                "best_value": result.best_value,
                "best_params": result.best_params,
                "best_config": str(best_file or ""),
                "trials": [_row(t) for t in result.trials],
                "ensemble_run": result.ensemble,
                "ensemble_note": result.ensemble_note,
                **outputs.to_dict(),
                "retrained_run": retrained,
            }
        )
        if result.stopped_reason == "interrupted":
            raise typer.Exit(130)
        return
    show_outputs(outputs)
    console.print(result.summary())
    if best_file is not None:
        console.print(
            f"best knobs written to {best_file}: `tunelab train {data} --config "
            f"{best_file}` trains with them."
        )
    _show_ensemble(result, ensemble)
    if retrain_best:
        retrain(result, data, hp, runs_dir, quiet=False, skip_bad=skip_bad)
    hint = _resume_hint(data, result.study_name, storage, runs_dir, trials, hp.epochs, space)
    console.print(f"resume with: {hint}", soft_wrap=True)
    if range_ or fix:
        console.print("  (add this run's --range and --fix flags too: the space must not change)")
    if result.stopped_reason == "interrupted":
        raise typer.Exit(130)  # like `train`: a Ctrl-C is not a success


def _show_ensemble(result: Any, size: int) -> None:
    if size:
        console.print(result.ensemble_note, soft_wrap=True)


def _resume_hint(
    data: str,
    study: str,
    storage: str | None,
    runs_dir: Path | None,
    trials: int | None,
    epochs: int,
    space: Path | None,
) -> str:
    """The command that continues this study: every option that locates it or sets its
    budget (a hint without --storage or --runs-dir would look in the wrong place)."""
    import shlex

    words = ["tunelab", "tune", data, "--study", study, "--resume"]
    if storage is not None:
        words += ["--storage", storage]
    if runs_dir is not None:
        words += ["--runs-dir", str(runs_dir)]
    if trials is not None:
        words += ["--trials", str(trials)]
    words += ["--epochs", str(epochs)]
    if space is not None:
        words += ["--space", str(space)]
    return " ".join(shlex.quote(word) for word in words)


def _show_waiting(result: Any, data: str, as_json: bool) -> None:
    """After --workers 0: the study is recorded; say how to run its trials elsewhere."""
    from tunelab.search.storage import display_url

    url = display_url(result.storage)
    if as_json:
        print_json({"study": result.study_name, "storage": url, "stopped": "no-workers"})
        return
    console.print(
        f"study {result.study_name} is ready in {url}; run its trials on each machine with: "
        f"tunelab worker {data} --study {result.study_name} --storage '{url}'",
        soft_wrap=True,  # one line, to copy and paste
    )


def _row(trial: Any) -> dict[str, Any]:
    return {
        "number": trial.number,
        "status": trial.status,
        "value": trial.value,
        "params": trial.params,
        "duration": trial.duration,
        "run": trial.user_attrs.get("run"),  # the trial's run in the run store
    }


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g}m"


def _write_best(result: Any, hp: Any, runs_dir: Path | None) -> Path | None:
    """``<study>-best.yaml``: every knob the best trial ran with (see trials.best)."""
    best = next((t for t in result.trials if t.number == result.best_trial_number), None)
    if result.best_params is None or best is None:
        return None
    from tunelab.runs import RunStore
    from tunelab.trials.best import write_best_config

    path = RunStore(runs_dir).best_config_path(result.study_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_best_config(path, best, hp, result.study_name)
