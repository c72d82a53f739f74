"""A Ctrl-C that lands in a ``__del__`` or weakref callback still stops the program."""

from __future__ import annotations

import subprocess
import sys

# The script sets the SIGINT handler a Python started from a terminal has: a job put in the
# background by a non-interactive shell (`cmd &`, as CI runners and nohup'd scripts do)
# inherits SIGINT ignored, and then an interrupt raised from a thread does nothing.
SCRIPT = """
import signal, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from tunelab.errors import keep_interrupts
keep_interrupts()

class Doomed:
    def __del__(self):
        raise KeyboardInterrupt  # what a Ctrl-C arriving during the finaliser looks like

try:
    for _ in range({count}):
        Doomed()
        time.sleep(0.001)
    for _ in range(200):
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
