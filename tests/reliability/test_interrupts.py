"""A Ctrl-C that lands in a ``__del__`` or weakref callback still stops the program."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import time
from tunelab.errors import keep_interrupts
keep_interrupts()

class Doomed:
    def __del__(self):
        raise KeyboardInterrupt  # what a Ctrl-C arriving during the finaliser looks like

try:
    for _ in range({count}):
        Doomed()
        time.sleep(0.001)
    for _ in range(1000):  # 10 s: it comes after 0.05 s, later on a loaded machine
        time.sleep(0.01)
    print("lost")
except KeyboardInterrupt:
    print("stopped")
"""


def test_an_interrupt_raised_in_a_finaliser_reaches_the_main_thread_without_a_traceback():
    for count in (1, 3):  # once, and again while the first is on its way
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(count=count)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout.strip() == "stopped", (done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
