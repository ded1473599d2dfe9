"""SIGTERM (a timeout, a CI cancellation, ``kill``) and SIGHUP (the terminal closed) stop a run as
Ctrl-C does: the signal becomes a :class:`Terminated`, a KeyboardInterrupt, where Ctrl-C's would
be raised, so the engine stops the pods, fails the running nodes with ``terminated by SIGTERM``
and the report is written. ``mlflows run`` then exits with 128+N, as a shell reports a process
that signal N ended.

After SIGHUP the terminal is gone, and writing to it would fail the run before its report is
written: standard output and error go to /dev/null from then on. A second signal is ignored; the
run is stopping already. (``kill -9`` cannot be caught: the pods die with the runner instead, see
:mod:`mlflows.local.executor.spawner`.)
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """The run was stopped by a signal other than Ctrl-C's."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.exit_code = 128 + signum


def catch_stop_signals() -> Callable[[], None]:
    """From now on SIGTERM and SIGHUP raise :class:`Terminated` in the main thread; returns what
    puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signal handlers can only be set from the main thread
    received: list[int] = []

    def stop(signum: int, _frame) -> None:
        if received:
            return
        received.append(signum)
        if signum == signal.SIGHUP:
            _silence_terminal()
        raise Terminated(signum)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _silence_terminal() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # the terminal is gone, or the stream closed
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
