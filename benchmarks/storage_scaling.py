"""Shared-study throughput: trials per minute for 1, 2 and 4 workers, PostgreSQL vs SQLite.

Every worker runs the same cheap objective (the toy curve, ``--epochs`` reports with a
fixed ``--sleep`` each, no pruning, random search, so the sampler costs nothing), so the
figures measure what sharing a study costs: each trial's storage round trips, the count
kept exact across processes, heartbeats. Throughput is taken from the trials' own
timestamps (first start to last end), so process start-up is not counted.

Then tunelab's per-trial storage overhead in milliseconds against an in-memory study (one
process), with plain Optuna on the same storages (no heartbeat, no tunelab bookkeeping)
beside it, and tunelab on a SQLite file kept in SQLite's default rollback journal
(``TUNELAB_SQLITE_WAL=0``) beside its default WAL mode. Every configuration runs in each of
``--rounds`` rounds, alternating, and the median is printed.

    python benchmarks/storage_scaling.py [--trials 40] [--sleep 0.02] [--rounds 1]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna

from tunelab.search import Float, tune
from tunelab.search.sqlite_wal import WAL_ENV
from tunelab.search.toy import curve

SPACE = {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}
WORKERS = (1, 2, 4)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server at ``admin_url``, dropped afterwards."""
    import psycopg

    name = f"tunelab_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def trials_per_minute(url: str, workers: int, args: argparse.Namespace) -> float:
    """Run one study on ``workers`` processes; its trials per minute of wall time."""
    name = f"w{workers}-{uuid.uuid4().hex[:6]}"
    result = tune(
        functools.partial(curve, epochs=args.epochs, sleep=args.sleep),
        SPACE,
        strategy="random",
        pruner="none",
        n_trials=args.trials,
        storage=url,
        study_name=name,
        workers=workers,
    )
    assert len(result.trials) == args.trials, "the count must be exact"
    trials = result.study().trials
    start = min(t.datetime_start for t in trials if t.datetime_start is not None)
    end = max(t.datetime_complete for t in trials if t.datetime_complete is not None)
    return len(trials) / (end - start).total_seconds() * 60


def ms_per_trial_tunelab(url: str | None, args: argparse.Namespace) -> float:
    started = time.perf_counter()
    tune(
        functools.partial(curve, epochs=args.epochs, sleep=args.sleep),
        SPACE,
        strategy="random",
        pruner="none",
        n_trials=args.trials,
        storage=url,
        study_name=f"one-{uuid.uuid4().hex[:6]}",
    )
    return (time.perf_counter() - started) / args.trials * 1000


def ms_per_trial_optuna(url: str | None, args: argparse.Namespace) -> float:
    """Plain Optuna, same objective shape: suggest, report per epoch, no tunelab layer."""

    def objective(trial: optuna.Trial) -> float:
        x, y = trial.suggest_float("x", -1, 1), trial.suggest_float("y", -1, 1)
        value = 0.0
        for epoch in range(1, args.epochs + 1):
            time.sleep(args.sleep)
            value = (1 - (x - 0.3) ** 2 - (y + 0.2) ** 2) * (1 - 0.5**epoch)
            trial.report(value, epoch)
        return value

    study = optuna.create_study(
        storage=url,
        study_name=f"plain-{uuid.uuid4().hex[:6]}",
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.NopPruner(),
    )
    started = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)
    return (time.perf_counter() - started) / args.trials * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=0.02, help="seconds per epoch")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    rate: dict[tuple[str, int], list[float]] = {}
    cost: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder, postgres_database(args.postgres) as pg:
        urls = {"sqlite": f"sqlite:///{Path(folder) / 'study.db'}", "postgresql": pg}
        for _ in range(args.rounds):
            for workers in WORKERS:
                for kind, url in urls.items():
                    rate.setdefault((kind, workers), []).append(
                        trials_per_minute(url, workers, args)
                    )
            # tunelab opens SQLite files in WAL mode; "sqlite-rollback" keeps SQLite's default
            # journal (as before) in a file of its own, and plain Optuna has its own file
            # (the journal mode is the file's), side by side in the same round
            files = {"sqlite": "study.db", "sqlite-rollback": "rollback.db"}
            for kind, url in {"memory": None, **urls, "sqlite-rollback": None}.items():
                if kind in files:
                    url = f"sqlite:///{Path(folder) / files[kind]}"
                exported = os.environ.get(WAL_ENV)  # the user's own setting, put back after
                os.environ[WAL_ENV] = "0" if kind == "sqlite-rollback" else "1"
                cost.setdefault(("tunelab", kind), []).append(ms_per_trial_tunelab(url, args))
                if exported is None:
                    os.environ.pop(WAL_ENV)
                else:
                    os.environ[WAL_ENV] = exported
                if kind != "sqlite-rollback":
                    if kind == "sqlite":
                        url = f"sqlite:///{Path(folder) / 'plain.db'}"
                    cost.setdefault(("optuna", kind), []).append(ms_per_trial_optuna(url, args))

    work = args.epochs * args.sleep * 1000
    print(
        f"\n{args.trials} trials per study, {args.epochs} epochs x {args.sleep * 1000:g} ms "
        f"sleep ({work:g} ms of work per trial), median of {args.rounds} round(s)\n"
    )
    print(f"{'workers':>7}  {'SQLite/min':>10}  {'PostgreSQL/min':>14}  {'PG / SQLite':>11}  "
          f"{'SQLite vs 1':>11}  {'PG vs 1':>7}")  # fmt: skip
    med = {key: statistics.median(values) for key, values in rate.items()}
    for workers in WORKERS:
        sq, pg_rate = med[("sqlite", workers)], med[("postgresql", workers)]
        print(
            f"{workers:>7}  {sq:>10.0f}  {pg_rate:>14.0f}  {pg_rate / sq:>10.2f}x  "
            f"{sq / med[('sqlite', 1)]:>10.2f}x  {pg_rate / med[('postgresql', 1)]:>6.2f}x"
        )
    ms = {key: statistics.median(values) for key, values in cost.items()}
    print("\nms per trial, one process (overhead = minus the in-memory study of the same tool)")
    print(f"{'storage':>15}  {'tunelab':>8}  {'overhead':>8}  {'optuna':>8}  {'overhead':>8}")
    for kind in ("memory", "sqlite", "sqlite-rollback", "postgresql"):
        t = ms[("tunelab", kind)]
        line = f"{kind:>15}  {t:>8.1f}  {t - ms[('tunelab', 'memory')]:>+8.1f}"
        if ("optuna", kind) in ms:
            o = ms[("optuna", kind)]
            line += f"  {o:>8.1f}  {o - ms[('optuna', 'memory')]:>+8.1f}"
        print(line)
    wal, rollback = ms[("tunelab", "sqlite")], ms[("tunelab", "sqlite-rollback")]
    print(f"tunelab on SQLite: WAL / rollback journal, ms per trial: {wal / rollback:.2f}x")


if __name__ == "__main__":
    main()
