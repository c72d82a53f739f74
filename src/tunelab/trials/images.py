"""Tuning tunelab's own trainer: the default space, the objective, and ``tune_images``.

Every trial is an ordinary tunelab run (curves, summary, diagnosis) named
``<study>-trial-<n>``. Trials share one validation split (the base seed's, recorded as
``split_seed``), so they are compared on the same images; each trial's own seed
(``reporter.seed``) sets its weights and batch order. A trial's value is the validation
accuracy of the weights it kept (its last epoch's, or the restored epoch's with early
stopping), and every knob it ran with is recorded (user attribute ``knobs``), so
``<study>-best.yaml`` trains the best trial again to the same number
(see :mod:`tunelab.trials.best`).
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tunelab.errors import TunelabError
from tunelab.knobs import Hyperparameters, as_hyperparameters, choices, knob_info
from tunelab.search.space import Dim, space_from_dict
from tunelab.trials.data import data_source, trial_dataset

#: Knobs that act only when a run starts from trained weights (``init_from``).
TRANSFER_ONLY = ("freeze_epochs", "backbone_lr_factor")


def default_space() -> dict[str, Dim]:
    """The searched knobs and ranges, read from the hyperparameter model's metadata."""
    entries: dict[str, Any] = {}
    for field in Hyperparameters.model_fields:
        info = knob_info(field)
        if not info.get("tunable"):
            continue
        entries[field] = info.get("search") or {"choices": list(choices(field))}
    return space_from_dict(entries)


def check_base(hp: Hyperparameters, space: Mapping[str, Any]) -> None:
    """Refuse base knobs a tune cannot start from: ``learning_rate: auto`` while the space
    sets the learning rate (each trial gets the space's value, so "auto" would be lost)."""
    if hp.auto_learning_rate and "learning_rate" in space:
        raise TunelabError(
            "learning_rate 'auto' cannot be tuned from: the tuner searches the learning rate "
            "itself. Give a number or leave it at its default."
        )


def build_space(
    *,
    space_file: str | Path | None = None,
    fixes: Sequence[str] = (),
    ranges: Sequence[str] = (),
) -> dict[str, Dim]:
    """The default space, replaced by a space file, then narrowed by --fix and --range."""
    from tunelab.knobs import read_config_file, unknown_knob
    from tunelab.search.space import Fixed, parse_fix, parse_range, validate_space

    space: dict[str, Any] = default_space()
    if space_file is not None:
        space = space_from_dict(read_config_file(space_file))
    given: dict[str, str] = {}  # knob -> the flag that set it: each knob is set once
    for flag, name, dim in [("--range", *parse_range(t)) for t in ranges] + [
        ("--fix", name, Fixed(value)) for name, value in map(parse_fix, fixes)
    ]:
        if name in given:
            raise TunelabError(
                f"{name} is given twice ({given[name]} and {flag}). Keep one: --range to "
                f"search it, or --fix to hold it at one value."
            )
        given[name] = flag
        space[name] = dim
    for name in space:
        if name not in Hyperparameters.model_fields:
            raise unknown_knob(name)
    checked = validate_space(space)
    for name, dim in checked.items():
        _check_values(name, dim)
    return checked


def _check_values(name: str, dim: Dim) -> None:
    """Every value a dimension can give must be a valid knob value (one-line error if not)."""
    from tunelab.search.space import Categorical, Fixed, Float, Int

    if isinstance(dim, Fixed):
        values: list[Any] = [dim.value]
    elif isinstance(dim, Categorical):
        values = list(dim.choices)
    elif isinstance(dim, (Float, Int)):
        values = [dim.low, dim.high]
    else:
        values = []
    for value in values:
        Hyperparameters.parse({name: value})


def image_objective(
    params: dict[str, Any],
    reporter: Any,
    *,
    data: str,
    base: dict[str, Any],
    store: str,
    study: str,
    skip_bad: bool = False,
) -> float:
    """Train one trial; report validation accuracy per epoch; return that of the kept weights."""

    from tunelab.search.reporter import Diverged, Pruned
    from tunelab.training.callbacks import Callback
    from tunelab.training.trainer import train

    hp = Hyperparameters.parse({**base, **params})
    dataset = trial_dataset(data, hp.input_size, skip_bad)
    split = dataset.split(hp.validation_fraction, hp.validation_seed, hp.use_manifest_split)[:2]
    hp = hp.replace(seed=reporter.seed, split_seed=hp.validation_seed)
    reporter.set_user_attr("knobs", hp.model_dump(mode="json"))  # the best config's source

    class Report(Callback):
        stopped: BaseException | None = None

        def on_epoch_end(self, state: Any, record: dict[str, float]) -> None:
            try:
                reporter.report(int(record["epoch"]), record["val_accuracy"])
            except (Pruned, Diverged) as stop:
                self.stopped = stop
                state.halt("pruned" if isinstance(stop, Pruned) else "diverged", str(stop))

    report = Report()
    number = reporter.trial_number if reporter.trial_number is not None else 0
    run = train(
        dataset,
        hp,
        store=store,
        name=f"{study}-trial-{number:04d}",
        callbacks=[report],
        split=split,
        checkpoint_every_epoch=False,  # a lost trial is retried from scratch
    )
    n_val = run.summary.get("n_val")  # for the 95% interval
    reporter.set_user_attrs({"run": run.name, "status": run.status, "n_val": n_val})
    if report.stopped is not None:
        raise report.stopped
    if run.status == "diverged":
        raise Diverged(run.summary.get("reason") or "the loss diverged")
    summary = run.summary
    restored = summary.get("status") == "stopped-early" and hp.restore_best_weights
    epoch = summary.get("best_epoch") if restored else summary.get("epochs_run")
    reporter.set_user_attr("value_epoch", epoch)
    value = summary.get("final_val_accuracy")  # measured on the weights the run saved
    return float(value) if value is not None else float("nan")


def tune_images(
    data: str | Path,
    hyperparameters: Hyperparameters | None = None,
    *,
    space: Mapping[str, Any] | None = None,
    store: str | Path | None = None,
    study_name: str | None = None,
    storage: str | None = None,
    strategy: str = "auto",
    pruner: str = "auto",
    n_trials: int | None = None,
    budget_seconds: float | None = None,
    workers: int | None = 1,
    resume: bool = False,
    reproducible: bool = True,
    portfolio: bool | Sequence[Mapping[str, Any]] = True,
    prune_portfolio: bool = False,
    keep_weights: int | None = 5,
    ensemble: int = 5,
    cv: int | None = None,
    artifacts: str | Path | None = None,
    backend: str = "local",
    ray: Any = None,
    callbacks: Sequence[Any] = (),
    progress: bool | str = True,
    skip_bad: bool = False,
    **knobs: Any,
) -> Any:
    """Tune an image classifier on ``data``; epochs are the budget axis.

    Knobs given as keywords (``epochs=3``, ``optimizer="adam"``) set the base knobs, as
    in :func:`tunelab.train`, and a searched knob given so is fixed at that value. With
    neither ``n_trials`` nor ``budget_seconds`` (and not grid search) it runs what
    ``tunelab tune`` runs: :data:`DEFAULT_TRIALS` trials within :data:`DEFAULT_BUDGET`
    seconds. ``progress`` prints one line per finished trial (True: to stderr;
    ``"stdout"``; False: none); Optuna's own INFO lines are silenced meanwhile.

    The study persists in ``<store>/studies/<study>.db`` (SQLite) unless ``storage`` is
    given, and resumes with ``resume=True``. Returns the engine's ``TuneResult``.
    Only the best ``keep_weights`` trials keep their weights (None keeps all; see
    :mod:`tunelab.trials.weights`). ``cv=K`` scores each trial by K-fold
    cross-validation (see :mod:`tunelab.trials.cv`). ``skip_bad=True`` leaves unreadable
    images out, in this process and in every worker (each trial's ``summary.json`` lists
    them under ``skipped``).

    Afterwards the best ``ensemble`` trials that kept weights (0: none) are mixed into one
    model, run ``<study>-ensemble`` (see :mod:`tunelab.trials.ensemble`); its name is the
    result's ``ensemble`` and ``ensemble_note`` the line that describes it (or why
    there is none).

    Trial runs go to ``artifacts`` (default: ``store``); give a folder every machine
    reaches when workers elsewhere join the study (``tunelab worker``, which reads it and
    the objective's settings from the study). ``backend``, ``ray`` and ``workers`` are
    the engine's (see :func:`tunelab.search.engine.tune`), as is ``reproducible``; so are
    ``callbacks``, Optuna callbacks ``(study, trial)`` run after each trial (one that
    calls ``study.stop()`` ends the tune between trials, as the web app's stop button does).

    The first trials are the warm-start portfolio (:mod:`tunelab.trials.portfolio`), cut to
    the searched knobs; ``portfolio=False`` starts with the strategy's own samples, and a
    sequence of settings is tried first instead. They run to their last epoch
    (the pruner judges only the sampled trials; they were chosen for their full-length
    result); ``prune_portfolio=True`` lets the pruner stop them too.
    """
    from tunelab.runs import RunStore, check_name
    from tunelab.search.engine import tune
    from tunelab.search.space import Fixed

    hp = as_hyperparameters(hyperparameters, knobs)
    n_trials, budget_seconds = default_limits(n_trials, budget_seconds, strategy)
    searched = dict(space) if space is not None else default_space()
    for key in knobs:
        if key in searched:  # a knob given as a keyword is not searched
            searched[key] = Fixed(getattr(hp, key))
    if not hp.init_from:  # without trained weights these do nothing: not worth a trial
        for key in TRANSFER_ONLY:
            searched.pop(key, None)
    check_base(hp, searched)  # before anything is written
    points = _first_points(searched, portfolio)
    from tunelab.trials.ensemble import check_size

    check_size(ensemble)
    runs = RunStore(store)
    runs.create_root()
    name = study_name or f"tune-{_slug(str(data))}-{time.strftime('%Y%m%d-%H%M%S')}"
    check_name(name, "study name")
    if storage is None:
        folder = runs.studies_dir
        folder.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(folder / f'{name}.db').resolve()}"
    base = hp.model_dump()
    for key in searched:
        base.pop(key, None)
    data = data_source(data)
    dataset = trial_dataset(data, hp.input_size, skip_bad)  # fail fast on bad data, decode once
    from tunelab.trials.join import artifacts_folder, image_record

    trials_root = artifacts_folder(artifacts if artifacts is not None else runs.root)
    # skip_bad travels with the objective's keywords: workers elsewhere skip alike
    same: dict[str, Any] = {"data": str(data), "base": base, "store": trials_root, "study": name}
    if skip_bad:  # only when set: a study without it records the keywords it always did
        same["skip_bad"] = True
    objective = functools.partial(image_objective, **same)
    if cv is not None:
        from tunelab.trials.cv import check_folds, cv_objective

        folds = check_folds(cv, dataset.labels)
        objective = functools.partial(cv_objective, folds=folds, **same)
    from tunelab.trials.progress import TrialLines, warm_start_line
    from tunelab.trials.weights import KeepBestWeights

    keeper = None if keep_weights is None else KeepBestWeights(trials_root, keep_weights)
    after_trial: list[Any] = [*callbacks, *([keeper] if keeper is not None else [])]
    if progress:
        stream = "stdout" if progress == "stdout" else "stderr"
        after_trial.append(TrialLines(stream))
        if points and not resume:
            first = len(points) if n_trials is None else min(len(points), n_trials)
            more = n_trials is None or n_trials > first
            line = warm_start_line(first, shipped=portfolio is True, more=more)
            print(line, file=getattr(sys, stream), flush=True)
    with quiet_optuna():
        result = tune(
            objective,
            searched,
            strategy=strategy,
            pruner=pruner,
            n_trials=n_trials,
            budget_seconds=budget_seconds,
            storage=storage,
            study_name=name,
            workers=workers,
            seed=hp.seed,
            resume=resume,
            reproducible=reproducible,
            max_resource=hp.epochs,
            initial_points=points if not resume else None,
            prune_initial_points=prune_portfolio,
            callbacks=after_trial or None,
            backend=backend,
            ray=ray,
            record=image_record(
                objective,
                data=str(data),
                dataset=dataset,
                artifacts=trials_root,
                keep_weights=keep_weights,
            ),
        )
    if keeper is not None:
        keeper.apply(result.study())  # also trials of earlier runs, or of other workers
    if ensemble and cv is not None:
        result.ensemble_note = (
            "no ensemble with --cv: each trial is one model per fold; --retrain-best trains "
            "the best knobs on all the data instead"
        )
    elif ensemble and result.stopped_reason != "no-workers":
        _add_ensemble(result, trials_root, ensemble)
    return result


def _add_ensemble(result: Any, root: str, size: int) -> None:
    """Build ``<study>-ensemble`` from the best trials; a failure is a note, not an error."""
    from tunelab.trials.ensemble import build_ensemble

    try:
        run = build_ensemble(result.trials, root, result.study_name, size)
    except TunelabError as err:
        result.ensemble_note = f"no ensemble: {err}"
        return
    if run is None:
        result.ensemble_note = "no ensemble: fewer than two complete trials kept their weights"
    else:
        from tunelab.trials.ensemble import describe

        result.ensemble, result.ensemble_note = run.name, describe(run)


def _first_points(
    space: Mapping[str, Any], portfolio: bool | Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The settings tried first: the shipped portfolio (True), none (False) or those given."""
    from tunelab.trials.portfolio import PORTFOLIO, starting_points

    if portfolio is False:
        return []
    if portfolio is True:
        return starting_points(space, PORTFOLIO)
    from tunelab.knobs import unknown_knob

    for point in portfolio:  # a misspelt knob would otherwise be dropped in silence
        for key in point:
            if key not in Hyperparameters.model_fields:
                raise unknown_knob(key)
    return starting_points(space, portfolio)


#: What ``tunelab tune`` and ``tune_images`` run when told neither a trial count nor a
#: budget: a few minutes on small data sets, at most ten.
DEFAULT_TRIALS = 20
DEFAULT_BUDGET = 600.0


def default_limits(
    n_trials: int | None, budget_seconds: float | None, strategy: str
) -> tuple[int | None, float | None]:
    """``(n_trials, budget_seconds)``, with the defaults when neither is given."""
    if n_trials is None and budget_seconds is None and strategy != "grid":
        return DEFAULT_TRIALS, DEFAULT_BUDGET
    return n_trials, budget_seconds


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines off while tunelab prints its own (restored afterwards)."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(min(max(before, optuna.logging.WARNING), optuna.logging.ERROR))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(text).name or text).strip("-")[:30] or "data"


def parse_budget(text: str) -> float:
    """'20m', '90s', '1h', '1h30m' or a number of seconds -> seconds."""
    cleaned = text.strip().lower()
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", cleaned)
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        seconds = float(cleaned)
    elif parts and "".join(n + u for n, u in parts) == cleaned.replace(" ", ""):
        seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    else:
        raise TunelabError(
            f"invalid budget {text!r}: give a duration such as 20m, 90s, 1h or 1h30m, "
            "or a number of seconds."
        )
    if seconds <= 0:
        raise TunelabError(f"invalid budget {text!r}: it must be longer than 0 seconds.")
    return seconds
