"""Fault stress: `tune --workers 2` killed again and again at random moments, resumed after
each kill, loses and doubles nothing (issue 16).

Each round starts the tune (resuming the study once it exists, with two trials more),
waits until a trial runs, waits a random moment more (a seeded RNG picks it, and what to
kill), then kills the main process (SIGKILL or SIGINT, as Ctrl-C) or one worker (SIGKILL;
the main process then gets SIGINT a moment later to end the round). A last resume runs
the study to its end.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tunelab.data import make_synthetic_folder
from tunelab.search.results import COUNTED_STATUSES

ROUNDS = 10
#: Each round asks for two trials more than the one before, so every round has trials
#: to cut off; the last resume asks for TRIALS and runs the study to that count.
TRIALS = 2 * ROUNDS + 2
STUDY = "stress"
FIXES = ["model=mlp", "batch_size=8", "activation=relu", "weight_decay=0"]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:  # a zombie has exited too
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _until(condition, what: str, limit: float = 180.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition`` (a guard against a hang, not a timing requirement)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=STUDY, storage=url).trials
    except KeyError:  # not created yet
        return []


@pytest.mark.slow
def test_killing_workers_and_the_tune_at_random_moments_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    data = make_synthetic_folder(tmp_path / "data", classes=2, per_class=6, size=(8, 8))
    url = f"sqlite:///{tmp_path / 'stress.db'}"
    runs = tmp_path / "runs"
    args = [sys.executable, "-m", "tunelab", "tune", str(data), "--study", STUDY, "--storage",
            url, "--workers", "2", "--epochs", "1", "--threads", "1",
            "--no-report", "--keep-weights", "1", "--runs-dir", str(runs)]  # fmt: skip
    for fix in FIXES:
        args += ["--fix", fix]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TUNELAB_HEARTBEAT_GRACE": "10"}
    rng = random.Random(16)
    kills = [_one_round([*args, "--trials", str(2 + 2 * r)], env, url, rng) for r in range(ROUNDS)]
    assert kills.count("finished") < ROUNDS // 2, kills  # most rounds were cut off
    final = subprocess.run([*args, "--trials", str(TRIALS), "--resume"], env=env,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert final.returncode == 0, final.stderr[-3000:]
    _check_study(url, runs)


def _one_round(args: list[str], env: dict[str, str], url: str, rng: random.Random) -> str:
    """Start (or resume) the tune, kill something at a random moment; returns what."""
    resume = ["--resume"] if _has_study(url) else []
    main = subprocess.Popen([*args, *resume], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    workers: list[int] = []
    try:
        _until(lambda: main.poll() is not None or _running(url, main.pid), "a running trial")
        time.sleep(rng.uniform(0.0, 1.5))
        workers = [pid for pid in _children(main.pid) if _is_worker(pid)]
        what = rng.choice(["kill main", "interrupt main", "kill worker"])
        if main.poll() is not None:
            what = "finished"
        elif what == "kill worker" and workers:
            os.kill(rng.choice(workers), signal.SIGKILL)
            time.sleep(rng.uniform(0.5, 2.0))
            main.send_signal(signal.SIGINT)
        elif what == "interrupt main":
            main.send_signal(signal.SIGINT)
        else:
            main.send_signal(signal.SIGKILL)
        _, err = main.communicate(timeout=180)
        _until(lambda: not any(_alive(pid) for pid in workers), "the workers to exit")
    finally:
        if main.poll() is None:
            main.kill()
            main.wait()
    assert "Traceback" not in err, err[-3000:]
    if what != "kill main":  # Ctrl-C (or the end): 130 (or 0), and one line at most
        assert main.returncode in (0, 130), (what, main.returncode, err[-2000:])
    return what


def _has_study(url: str) -> bool:
    from tunelab.search.storage import open_storage

    return STUDY in optuna.get_all_study_names(open_storage(url))


def _running(url: str, main: int) -> bool:
    """Whether a worker of ``main`` runs a trial (not one a killed worker left RUNNING)."""
    workers = set(_children(main))
    return any(
        t.state == TrialState.RUNNING and t.user_attrs.get("pid") in workers for t in _trials(url)
    )


def _is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _check_study(url: str, runs: Path) -> None:
    trials = _trials(url)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))  # every number once
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    counted = [t for t in trials if t.user_attrs.get("status") in COUNTED_STATUSES]
    assert len(counted) == TRIALS  # the count asked for: nothing lost, nothing extra
    folders = sorted(p.name for p in runs.iterdir() if p.name.startswith(f"{STUDY}-trial-"))
    names = {f"{STUDY}-trial-{n:04d}" for n in numbers}
    assert set(folders) <= names, set(folders) - names  # no orphan, no second folder
    assert len(folders) == len(set(folders))
    for trial in counted:
        if trial.user_attrs["status"] not in ("complete", "pruned"):
            continue  # diverged or failed: its folder may stop anywhere
        run = runs / trial.user_attrs["run"]
        assert run.name == f"{STUDY}-trial-{trial.number:04d}"
        for part in ("config.yaml", "summary.json", "metrics_epoch.csv", "model.json"):
            assert (run / part).is_file(), (run, part)
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] in ("completed", "stopped-early", "pruned"), summary["status"]
        with (run / "metrics_epoch.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == summary["epochs_run"] == len(trial.intermediate_values)
