"""Reliability: faults and mistakes that used to hang a tune, lose work or mislead (issue 16).

Each test drives the real code (the CLI, the engine, the trainer) into the fault: a study
resumed with another space or budget, trials that all fail, Ctrl-C inside a trial and
inside Optuna's bookkeeping, a run stopped by an error half-way, two studies created at
once, a class folder that cannot be read.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from tunelab.cli.main import run as cli_run
from tunelab.data import make_synthetic_folder
from tunelab.errors import TunelabError
from tunelab.runs import RunStore
from tunelab.search import Float, tune
from tunelab.search.toy import curve

ONE = ["--trials", "1", "--epochs", "1", "--threads", "1"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUNELAB_RUNS", str(root / "runs"))
        mp.setenv("TUNELAB_CACHE_DIR", str(root / "cache"))
        mp.setenv("COLUMNS", "200")
        mp.chdir(root)
        good = make_synthetic_folder(root / "good", classes=2, per_class=5, seed=3)
        yield {"root": root, "good": Path(good), "store": root / "runs"}


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip().startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def study(env: dict[str, Path]) -> str:
    """A one-trial study over the default space, made through the CLI."""
    code = cli_run(["tune", str(env["good"]), "--study", "s1", *ONE, "--no-report"])
    assert code == 0
    return "s1"


def test_resuming_with_another_space_is_refused_naming_the_knobs(
    env: dict[str, Path], study: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 16: this ran 4,190 failing trials in 10 minutes and never ended.
    args = ["tune", str(env["good"]), "--study", study, "--resume", *ONE]
    code = cli_run([*args, "--range", "learning_rate=0.5:0.9", "--fix", "optimizer=sgd"])
    assert code == 1
    line = _one_error_line(capsys)
    assert "another space" in line and "learning_rate" in line and "optimizer" in line
    trials = optuna.load_study(
        study_name=study, storage=f"sqlite:///{env['store'] / 'studies' / 's1.db'}"
    ).trials
    assert len(trials) == 1  # nothing was tried


def test_resuming_with_other_epochs_is_refused(
    env: dict[str, Path], study: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["tune", str(env["good"]), "--study", study, "--resume", "--trials", "2"]
    assert cli_run([*args, "--epochs", "3"]) == 1
    line = _one_error_line(capsys)
    assert "at most 1 epochs" in line and "asks for 3" in line and "--epochs 1" in line


def test_the_resume_hint_keeps_every_option_that_finds_the_study(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store = env["root"] / "other-store"
    db = env["root"] / "elsewhere.db"
    args = ["tune", str(env["good"]), "--study", "hint", "--storage", f"sqlite:///{db}"]
    assert cli_run([*args, "--runs-dir", str(store), *ONE, "--no-report"]) == 0
    out = capsys.readouterr().out
    hint = next(line for line in out.splitlines() if line.startswith("resume with:"))
    for part in (f"--storage sqlite:///{db}", f"--runs-dir {store}", "--trials 1", "--epochs 1"):
        assert part in hint, hint
    # Following the hint (one trial more) works and leaves no phantom study file behind.
    again = hint.removeprefix("resume with: tunelab ").replace("--trials 1", "--trials 2")
    assert cli_run([*again.split(), "--threads", "1", "--no-report"]) == 0
    assert not (store / "studies" / "hint.db").exists()


def test_resume_without_a_study_name_creates_nothing(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted((env["store"] / "studies").glob("*.db"))
    assert cli_run(["tune", str(env["good"]), "--resume", *ONE]) == 1
    assert "--resume needs --study" in _one_error_line(capsys)
    assert sorted((env["store"] / "studies").glob("*.db")) == before


def _broken(params: dict[str, Any], reporter: Any) -> float:
    raise ValueError(f"no such column: {params['x']:.3f}")


def test_trials_failing_in_a_row_stop_the_tune_with_the_first_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fail.db'}"
    with pytest.raises(TunelabError, match="last 5 trials failed") as caught:
        tune(_broken, {"x": Float(0, 1)}, n_trials=50, storage=url, study_name="f")
    assert "ValueError: no such column" in str(caught.value)
    trials = optuna.load_study(study_name="f", storage=url).trials
    assert len(trials) == 5  # stopped at the streak, not after 50 (or forever)
    assert all(t.user_attrs["status"] == "error" for t in trials)  # and each one counted


def test_the_engine_refuses_to_resume_a_study_over_another_space(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'space.db'}"
    objective = functools.partial(curve, epochs=2)
    tune(objective, {"x": Float(0.0, 1.0)}, n_trials=1, storage=url, study_name="s")
    # The same name with another log setting: Optuna would refuse it in suggest, each trial.
    with pytest.raises(TunelabError, match="another space .*x") as caught:
        tune(
            objective,
            {"x": Float(0.1, 1.0, log=True)},
            n_trials=3,
            storage=url,
            study_name="s",
            resume=True,
        )
    assert "then" in str(caught.value) and "now" in str(caught.value)
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 1


def test_ctrl_c_of_a_one_worker_tune_exits_130(
    env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tunelab.trials.images as images

    real = images.image_objective
    calls: list[int] = []

    def interrupted(*args: Any, **kwargs: Any) -> float:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a Ctrl-C during the second trial
        return real(*args, **kwargs)

    monkeypatch.setattr(images, "image_objective", interrupted)
    args = ["tune", str(env["good"]), "--study", "ctrl-c", "--trials", "3", "--epochs", "1"]
    assert cli_run([*args, "--threads", "1", "--no-report"]) == 130
    assert len(calls) == 2


def test_a_second_ctrl_c_inside_optunas_bookkeeping_is_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Optuna's _run_trial reads `updated_state` in a `finally` it may never have set: a
    # Ctrl-C while it records a trial surfaced as UnboundLocalError in a worker.
    from optuna.study import _optimize

    real = _optimize._tell_with_warning
    calls: list[int] = []

    def tell(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_optimize, "_tell_with_warning", tell)
    result = tune(
        functools.partial(curve, epochs=1),
        {"x": Float(0, 1)},
        n_trials=5,
        storage=f"sqlite:///{tmp_path / 'c.db'}",
        study_name="c",
    )
    assert result.stopped_reason == "interrupted"


def test_every_worker_dying_is_one_line_that_does_not_blame_the_objective() -> None:
    from tunelab.search.processes import combine_reasons

    reports = [(0, "error", "killed by signal 9"), (1, "error", "killed by signal 9")]
    with pytest.raises(TunelabError, match="every worker process of the tune stopped") as err:
        combine_reasons(reports, workers=2)
    assert "resume" in str(err.value) and "objective" not in str(err.value)


def test_a_study_created_by_another_tune_a_moment_ago_is_one_line(tmp_path: Path) -> None:
    from tunelab.search.storage import create_or_load, open_storage

    storage = open_storage(f"sqlite:///{tmp_path / 'race.db'}")
    optuna.create_study(storage=storage, study_name="x")  # the other tune won the race
    with pytest.raises(TunelabError, match="created by another tune running at the same time"):
        create_or_load(storage, "x", resume=False, direction="maximize", settings={})


class _Boom:
    """A callback that fails at the end of the first epoch, as a full disk would."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None

    def on_epoch_end(self, *args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")


def test_a_run_stopped_by_an_error_is_marked_failed_with_its_reason(
    env: dict[str, Path], tmp_path: Path
) -> None:
    from tunelab.training.trainer import train

    store = RunStore(tmp_path / "runs")
    with pytest.raises(OSError):
        train(
            env["good"], {"epochs": 2, "threads": 1}, store=store, name="boom", callbacks=[_Boom()]
        )
    summary = json.loads((store.root / "boom" / "summary.json").read_text())
    assert summary["status"] == "failed" and "No space left on device" in summary["error"]
    assert store.get("boom").status == "failed"  # not "running" forever in `runs list`


def test_set_up_mistakes_leave_no_run_folder(env: dict[str, Path], tmp_path: Path) -> None:
    from tunelab.training.trainer import train

    store = RunStore(tmp_path / "runs")
    for knobs in ({"device": "cuda"}, {"precision": "fp16", "device": "cpu"}):
        with pytest.raises(TunelabError):
            train(env["good"], {"epochs": 1, **knobs}, store=store)
    one = make_synthetic_folder(tmp_path / "one", classes=2, per_class=1)
    with pytest.raises(TunelabError, match="only one image"):
        train(one, {"epochs": 1}, store=store)
    assert store.names() == []


def test_runs_remember_their_data_as_an_absolute_path(
    env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunelab.evaluation import evaluate_run
    from tunelab.training.trainer import train

    monkeypatch.chdir(env["good"].parent)
    store = RunStore(tmp_path / "runs")
    run = train(env["good"].name, {"epochs": 1, "threads": 1}, store=store, name="rel")
    assert run.model_info["data"] == str(env["good"].resolve())
    monkeypatch.chdir(tmp_path)  # another folder: the relative path would not be found
    assert evaluate_run(store.get("rel")).n_images > 0


def test_an_unreadable_class_folder_is_named_as_unreadable(
    env: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tunelab.data.sources import list_folder

    root = make_synthetic_folder(tmp_path / "locked", classes=2, per_class=2)
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if str(path).endswith("class1"):  # as chmod 000 does for anyone but root
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(TunelabError, match="cannot be read .*Permission denied"):
        list_folder(Path(root))


def test_runs_delete_of_a_symlinked_run_removes_the_link_only(
    env: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tunelab.training.trainer import train

    elsewhere = RunStore(tmp_path / "elsewhere")
    train(env["good"], {"epochs": 1, "threads": 1}, store=elsewhere, name="target")
    store = tmp_path / "store"
    store.mkdir()
    os.symlink(elsewhere.root / "target", store / "link")
    assert cli_run(["runs", "delete", "--yes", "link", "--runs-dir", str(store)]) == 0
    assert not (store / "link").exists() and (elsewhere.root / "target" / "config.yaml").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) is gone too
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _workers_of(pid: int) -> set[int]:
    """The spawned worker processes whose parent is ``pid`` (Linux's /proc)."""
    workers = set()
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):  # not a process, or gone meanwhile
            continue
        if ppid == pid and b"spawn_main" in command:
            workers.add(int(entry.name))
    return workers


def _wait(condition: Any, what: str, limit: float = 240.0) -> None:
    """Poll ``condition`` (a guard against a hang, not a timing requirement)."""
    import time

    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def test_killing_the_tune_takes_its_workers_and_a_resume_loses_nothing(
    env: dict[str, Path], tmp_path: Path
) -> None:
    import datetime
    import signal
    import subprocess
    import sys

    from optuna.trial import TrialState

    url = f"sqlite:///{tmp_path / 'kill.db'}"
    args = [sys.executable, "-m", "tunelab", "tune", str(env["good"]), "--study", "k"]
    args += ["--storage", url, "--workers", "2", "--trials", "4", "--epochs", "2"]
    args += ["--threads", "1", "--no-report", "--runs-dir", str(tmp_path / "runs")]
    main = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def running() -> dict[int, int]:
        """Trial number -> pid of the worker running it."""
        try:
            trials = optuna.load_study(study_name="k", storage=url).trials
        except Exception:  # the study is not created yet
            return {}
        return {
            t.number: int(t.user_attrs["pid"])
            for t in trials
            if t.state == TrialState.RUNNING and "pid" in t.user_attrs
        }

    try:
        _wait(lambda: len(running()) >= 1, "a worker's running trial")
        cut = running()
        workers = _workers_of(main.pid) | set(cut.values())
        main.send_signal(signal.SIGKILL)
        main.wait()
        killed = datetime.datetime.now()  # Optuna's times are local and naive too
        _wait(lambda: not any(_alive(pid) for pid in workers), "the workers to exit")
    finally:
        if main.poll() is None:
            main.kill()
    # The workers stopped with their parent: the trials they ran are noted interrupted...
    by_number = {t.number: t for t in optuna.load_study(study_name="k", storage=url).trials}
    assert {by_number[n].user_attrs.get("status") for n in cut} == {"interrupted"}
    # ...and none ran on as an orphan (it would finish its trial)
    late = [t for t in by_number.values() if t.datetime_complete and t.datetime_complete > killed]
    assert {t.user_attrs.get("status") for t in late} <= {"interrupted"}, late
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    trials = optuna.load_study(study_name="k", storage=url).trials
    counted = [t for t in trials if t.user_attrs.get("status") in ("complete", "pruned")]
    assert len(counted) == 4  # what --trials asked, nothing lost...
    assert not [t for t in trials if t.state == TrialState.RUNNING]  # ...nothing left hanging
    assert len({t.number for t in trials}) == len(trials)  # ...and nothing doubled
