"""Sweep one knob: train once per value, everything else (seed included) the same.

>>> result = sweep("digits", "learning_rate", epochs=5)  # doctest: +SKIP
>>> result.winner.value, result.plot_path  # doctest: +SKIP
(0.003, PosixPath('tunelab-runs/sweeps/sweep-20250101-120000.png'))

Values: given, or the recommended ladder around the knob's current value
(:mod:`tunelab.explore.ladders`). Every value is validated through
:class:`~tunelab.knobs.Hyperparameters` before anything runs.

What is stored, in the run store (``./tunelab-runs`` or ``$TUNELAB_RUNS``):

- one ordinary run per value, named ``<sweep>-<knob>-<value>`` (``tunelab runs show``
  works on it), with a ``sweep.json`` naming its sweep, knob and value;
- ``sweeps/<sweep>.json``: the knob, the values, the shared knobs, one row per value
  (status, final and best validation accuracy, best validation loss and its epoch,
  seconds, the diagnosis verdict when the run has one, the per-epoch curve) and the
  winner; ``sweeps/<sweep>.png``: validation loss and accuracy per epoch, a line per
  value. ``<sweep>`` is ``sweep-<date>-<time>`` unless named.

The winner has the best validation accuracy (ties: the lower validation loss) among the
runs that completed or stopped early; diverged, failed and interrupted runs do not win.

Epochs: with a schedule that does not look ahead (``constant``, ``step``,
``reduce-on-plateau``) the first N epochs of a longer run are exactly the N-epoch run
(same seed, same batch order, early stopping and divergence decided on the past only),
so an ``epochs`` sweep trains **one** run of the largest value and reads each shorter
budget from its curve (rows say ``from_curve``; their time is the sum of their epochs).
``cosine`` and ``one-cycle`` depend on the total number of epochs, so there every value
trains its own run.

Runs use ``workers`` processes (default ``min(values, cores // 2)``, each with
``cores // workers`` torch threads; see :mod:`tunelab.explore.parallel`). Results are the
same for any number of workers up to float rounding from the thread count; set
``threads`` to make them bit-identical. Ctrl-C keeps the finished runs, saves the
running ones as interrupted and raises :class:`SweepInterrupted` with the partial result.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tunelab.data import ImageDataset
from tunelab.errors import TunelabError
from tunelab.explore.ladders import knob_name, ladder
from tunelab.explore.parallel import DataRef, Job, Outcome, default_workers, run_here, run_pool
from tunelab.explore.sweep_rows import (
    SweepInterrupted,
    SweepResult,
    SweepRow,
    budget_rows,
    sweep_row,
)
from tunelab.knobs import Hyperparameters
from tunelab.report.sweep import plot_sweep
from tunelab.runs import RunStore
from tunelab.runs.store import atomic_write, check_name, finite, value_slug
from tunelab.training.callbacks import Callback

# Schedules whose learning rate at epoch e does not depend on the planned number of epochs.
CAUSAL_SCHEDULES = ("constant", "step", "reduce-on-plateau")


def sweep(
    data: str | Path | ImageDataset,
    vary: str,
    values: Sequence[Any] | str | None = None,
    hyperparameters: Hyperparameters | dict[str, Any] | None = None,
    *,
    store: RunStore | str | Path | None = None,
    workers: int | None = None,
    name: str | None = None,
    skip_bad: bool = False,
    plot: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
    on_row: Callable[[SweepRow], None] | None = None,
    on_stop: Callable[[], None] | None = None,
    **knobs: Any,
) -> SweepResult:
    """Train once per value of ``vary`` with every other knob fixed; return the comparison.

    ``values``: a list, a comma-separated string as on the command line, or None for the
    recommended ladder around the current value. ``learning_rate="auto"`` is replaced by
    lr-find's suggestion first (so a learning-rate ladder centres on it). ``plot``: where
    the PNG goes (default next to the sweep summary). ``on_row`` is called as each run
    finishes, ``on_stop`` as soon as Ctrl-C is seen; ``callbacks`` go to every run (they
    must be picklable when ``workers > 1``).
    """
    started = time.perf_counter()
    field_name = knob_name(vary)
    store = store if isinstance(store, RunStore) else RunStore(store)
    hp, planned = _plan(data, field_name, values, _base_values(hyperparameters, knobs), skip_bad)
    count = check_workers(workers, len(planned))
    mode = "separate"
    if field_name == "epochs" and hp.schedule in CAUSAL_SCHEDULES and len(planned) > 1:
        mode, count = "shared-curve", 1
    sweep_id = _sweep_id(store, name, data)
    jobs = _jobs(sweep_id, field_name, planned, mode)
    _check_free(store, sweep_id, jobs)
    dataset = _load_once(data, field_name, hp, planned, skip_bad)

    rows_by_run: dict[str, SweepRow] = {}

    def collect(outcome: Outcome) -> None:
        value = next(job.meta["value"] for job in jobs if job.name == outcome.name)
        row = sweep_row(store.root / outcome.name, outcome, value)
        rows_by_run[outcome.name] = row
        if on_row is not None:
            on_row(row)

    options: dict[str, Any] = {
        "skip_bad": skip_bad,
        "callbacks": callbacks,
        "on_outcome": collect,
        "on_stop": on_stop,
    }
    if count == 1:
        local = dataset if dataset is not None else str(data)
        outcomes, interrupted = run_here(jobs, local, store.root, **options)
    else:
        ref = DataRef(dataset=dataset) if dataset is not None else DataRef(source=str(data))
        outcomes, interrupted = run_pool(jobs, ref, store.root, workers=count, **options)
    for job, outcome in zip(jobs, outcomes, strict=True):
        if outcome.name not in rows_by_run:
            rows_by_run[outcome.name] = sweep_row(store.root / job.name, outcome, job.meta["value"])
    if mode == "shared-curve":
        rows = budget_rows(rows_by_run[jobs[0].name], [value for value, _ in planned])
    else:
        rows = [rows_by_run[job.name] for job in jobs]
    result = SweepResult(
        sweep=sweep_id,
        knob=field_name,
        values=[value for value, _ in planned],
        rows=rows,
        mode=mode,
        workers=count,
        hyperparameters=hp.model_dump(mode="json"),
        store=store.root,
        interrupted=interrupted,
        seconds=time.perf_counter() - started,
    )
    _save(result, plot)
    if interrupted:
        raise SweepInterrupted(result)
    return result


def _plan(
    data: str | Path | ImageDataset,
    field_name: str,
    values: Sequence[Any] | str | None,
    base: dict[str, Any],
    skip_bad: bool,
) -> tuple[Hyperparameters, list[tuple[Any, Hyperparameters]]]:
    """The shared knobs and the validated values; ``learning_rate: auto`` resolved."""
    from tunelab.knobs import is_auto

    if field_name in ("input_height", "input_width") and isinstance(data, ImageDataset):
        raise TunelabError(
            f"sweeping {field_name} needs the data's source (a folder, CSV or 'digits') to "
            "load it at each size, not a loaded ImageDataset."
        )
    if is_auto(base.get("learning_rate")):
        # Check everything else before the range test spends time on it.
        placeholder = Hyperparameters.parse({**base, "learning_rate": 0.01})
        if values is not None:
            plan_values(field_name, values, placeholder)
        from tunelab.training.lr_find import resolve_auto_learning_rate

        base = {**base, "learning_rate": resolve_auto_learning_rate(data, base, skip_bad=skip_bad)}
    hp = Hyperparameters.parse(base)
    return hp, plan_values(field_name, values, hp)


def _load_once(
    data: str | Path | ImageDataset,
    field_name: str,
    hp: Hyperparameters,
    planned: list[tuple[Any, Hyperparameters]],
    skip_bad: bool,
) -> ImageDataset | None:
    """The data set every run shares, loaded here once; None when each run needs its own.

    For an input-size sweep each size is loaded (and so cached, and checked) here once,
    and every run loads its own size from the decode cache.
    """
    from tunelab.training.trainer import resolve_dataset

    if field_name not in ("input_height", "input_width"):
        return standard_layout(resolve_dataset(data, hp, skip_bad))
    for _, knobs in planned:
        resolve_dataset(data, knobs, skip_bad)
    return None


def standard_layout(dataset: ImageDataset) -> ImageDataset:
    """``dataset`` with its images in plain C order (a copy only when they are not).

    An array's strides reach PyTorch: a size-1 channel axis with an odd stride (as in a
    view made by ``images[:, None]``) makes convolutions take the channels-last path,
    which rounds differently. Pickling to a worker normalises the strides, so without
    this the runs in worker processes would differ (in the 7th digit) from runs here.
    """
    images = dataset.images
    expected: list[int] = []
    step = images.itemsize
    for size in reversed(images.shape):
        expected.insert(0, step)
        step *= size
    if tuple(images.strides) == tuple(expected):
        return dataset
    return dataclasses.replace(dataset, images=np.array(images, order="C"))


# ---------------------------------------------------------------- values


def plan_values(
    knob: str, values: Sequence[Any] | str | None, hp: Hyperparameters
) -> list[tuple[Any, Hyperparameters]]:
    """``(value, knobs with that value)`` per value, each validated; duplicates refused."""
    field_name = knob_name(knob)
    if values is None:
        given = ladder(field_name, getattr(hp, field_name))
    elif isinstance(values, str):
        given = parse_values(field_name, values)
    else:
        given = list(values)
    if not given:
        raise TunelabError(
            f"no values to sweep {field_name} over. Give them as --values v1,v2,... or leave "
            "--values out for the recommended ones."
        )
    planned: list[tuple[Any, Hyperparameters]] = []
    seen: dict[str, Any] = {}
    for value in given:
        knobs = hp.replace(**{field_name: value})
        canonical = getattr(knobs, field_name)
        key = json.dumps(canonical)
        if key in seen:
            raise TunelabError(
                f"the value {seen[key]!r} of {field_name} is given twice (also as {value!r}). "
                "Give each value once."
            )
        seen[key] = value
        planned.append((canonical, knobs))
    return planned


def parse_values(knob: str, text: str) -> list[Any]:
    """Values from the command line: comma-separated, each read as YAML would read it.

    ``augment`` combinations join their parts with ``+`` (``none,flip,flip+rot90``).
    """
    from tunelab.knobs import parse_value

    parts = [part.strip() for part in text.split(",")]
    if any(not part for part in parts):
        raise TunelabError(
            f"--values {text!r} has an empty value. Separate values with single commas, "
            "e.g. --values 0.001,0.01,0.1."
        )
    if knob == "augment":
        return [[] if p.lower() in ("none", "[]") else p.split("+") for p in parts]
    return [_number(parse_value(part)) for part in parts]


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` as text; as a value to sweep it is a number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def check_workers(workers: int | None, jobs: int) -> int:
    if workers is None:
        return default_workers(jobs)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise TunelabError(
            f"workers must be an integer >= 1 (got {workers!r}). Typical: 1 to the number of "
            "CPU cores divided by 2; leave it out to choose automatically."
        )
    return min(workers, jobs)


# ---------------------------------------------------------------- names


def _sweep_id(store: RunStore, name: str | None, data: Any = "data") -> str:
    """The given name, or ``sweep-<data set>-<time>``: run names then say which data."""
    if name is not None:
        return check_name(name, "sweep name")
    from tunelab.runs.naming import dataset_name

    source = data.source if isinstance(data, ImageDataset) else str(data)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", dataset_name(source)).strip("-")[:30] or "data"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for counter in range(1, 1000):
        sweep_id = f"sweep-{stem}-{stamp}" + (f"-{counter}" if counter > 1 else "")
        if not (store.root / "sweeps" / f"{sweep_id}.json").exists():
            return sweep_id
    raise TunelabError(f"could not choose a new sweep name in {str(store.root)!r}; use --name.")


def _jobs(
    sweep_id: str, knob: str, planned: list[tuple[Any, Hyperparameters]], mode: str
) -> list[Job]:
    if mode == "shared-curve":
        value, hp = max(planned, key=lambda item: item[0])
        planned = [(value, hp)]
    jobs: list[Job] = []
    used: set[str] = set()
    for index, (value, hp) in enumerate(planned, start=1):
        name = f"{sweep_id}-{knob}-{value_slug(value)}"
        if name in used:
            name = f"{name}-{index}"
        used.add(name)
        meta = {"sweep": sweep_id, "knob": knob, "value": value}
        jobs.append(Job(name, hp.model_dump(), meta))
    return jobs


def _check_free(store: RunStore, sweep_id: str, jobs: list[Job]) -> None:
    if (store.root / "sweeps" / f"{sweep_id}.json").exists():
        raise TunelabError(
            f"a sweep named {sweep_id!r} already exists in {str(store.root)!r}. Choose "
            "another --name."
        )
    for job in jobs:
        check_name(job.name)
        if (store.root / job.name).exists():
            raise TunelabError(
                f"a run named {job.name!r} already exists in {str(store.root)!r}. Choose "
                "another sweep --name, or delete it with `tunelab runs delete`."
            )


def _base_values(
    hyperparameters: Hyperparameters | dict[str, Any] | None, knobs: dict[str, Any]
) -> dict[str, Any]:
    if isinstance(hyperparameters, Hyperparameters):
        base = hyperparameters.model_dump()
    else:
        base = dict(hyperparameters or {})
    return {**base, **knobs}


# ---------------------------------------------------------------- saving


def _save(result: SweepResult, plot: str | Path | None) -> None:
    folder = result.store / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    target = Path(plot) if plot is not None else folder / f"{result.sweep}.png"
    result.plot_path = plot_sweep(result, target)
    result.summary_path = folder / f"{result.sweep}.json"
    text = json.dumps(finite(result.to_dict()), indent=2, default=str, allow_nan=False)
    atomic_write(result.summary_path, text + "\n")
