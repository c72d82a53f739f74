"""A worker stops once when its parent dies, however often Linux tells it.

Linux sends the parent-death signal (``PR_SET_PDEATHSIG``) each time the orphan is handed
to a new parent: once per exiting thread of a killed multi-threaded parent (tune's workers
got two, 7 to 12 ms apart), and again when a subreaper that adopted it dies. The test makes
the second hand-over certain with a subreaper above the parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's"
)

WORKER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from tunelab.search import processes
    from tunelab.search.processes import die_with_parent

    if os.environ.get("NO_PARENT_DEATH_SIGNAL"):  # as on systems other than Linux
        processes.PARENT_DEATH = None

    folder, wanted, parent = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    die_with_parent(parent)
    heard, until = 0, None

    def listen():  # for 2 s after the first interrupt, or until `wanted` came
        global heard, until
        while True:
            try:
                while heard < wanted and (until is None or time.monotonic() < until):
                    time.sleep(0.01)
                return
            except KeyboardInterrupt:
                heard += 1
                if until is None:
                    until = time.monotonic() + (2.0 if wanted == 1 else 60.0)
                    (folder / "stopping").write_text("")

    (folder / "listening").write_text("")
    listen()
    (folder / "heard").write_text(str(heard))
    """
)

PARENT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", *sys.argv[1:], str(os.getpid())])
    time.sleep(600)
    """
)

SUBREAPER = textwrap.dedent(
    """
    import ctypes, subprocess, sys, time
    from pathlib import Path
    assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    parent = subprocess.Popen([sys.executable, "-c", *sys.argv[1:]])
    (Path(sys.argv[3]) / "parent").write_text(str(parent.pid))
    time.sleep(600)
    """
)


def _wait_for(path: Path, deadline: float) -> None:
    while not path.exists():
        assert time.monotonic() < deadline, f"gave up waiting for {path.name}"
        time.sleep(0.05)


def test_a_worker_hears_its_parents_death_once(tmp_path: Path) -> None:
    subreaper = subprocess.Popen(
        [sys.executable, "-c", SUBREAPER, PARENT, WORKER, str(tmp_path), "1"]
    )
    parent = 0
    try:
        deadline = time.monotonic() + 120  # a guard against a hang, not a timing
        _wait_for(tmp_path / "listening", deadline)
        parent = int((tmp_path / "parent").read_text())
        subprocess.run(["kill", "-9", str(parent)], check=True)
        _wait_for(tmp_path / "stopping", deadline)  # heard it: handed to the subreaper
        subreaper.send_signal(signal.SIGKILL)  # handed on again, to init
        subreaper.wait()
        _wait_for(tmp_path / "heard", deadline)
    finally:
        if subreaper.poll() is None:
            subreaper.kill()
        if parent:
            subprocess.run(["kill", "-9", str(parent)], capture_output=True)
    # once: a repeat would cut short the cut trial's bookkeeping (a trial left RUNNING
    # without a status in the kill test of tests/reliability)
    assert (tmp_path / "heard").read_text() == "1"


@pytest.mark.parametrize("signalled", [True, False], ids=["linux", "watched"])
def test_a_worker_that_lost_the_interrupt_is_interrupted_again(
    tmp_path: Path, signalled: bool
) -> None:
    """An orphan that went on after the first interrupt (lost: a worker once trained its
    trial to the end after its parent died) is interrupted again a few seconds later; where
    no signal tells it (``watched``), a thread watching the parent's pid interrupts it."""
    env = {**os.environ, **({} if signalled else {"NO_PARENT_DEATH_SIGNAL": "1"})}
    args = [sys.executable, "-c", PARENT, WORKER, str(tmp_path), "2"]
    parent = subprocess.Popen(args, env=env)
    try:
        deadline = time.monotonic() + 120  # a guard against a hang, not a timing
        _wait_for(tmp_path / "listening", deadline)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        _wait_for(tmp_path / "heard", deadline)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert (tmp_path / "heard").read_text() == "2"  # the worker ignored the first: again
