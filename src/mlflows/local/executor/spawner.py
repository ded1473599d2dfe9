"""The one way the local runner starts a process: every pod's — a container or script step's
(:mod:`mlflows.local.executor.pod`), a TFJob replica's, a model server's — comes from
:func:`spawn`.

- It dies with the runner, even with ``kill -9``: Linux's parent-death signal (SIGKILL) is set in
  the child. Linux sends that signal when the *thread* that forked the child ends, so every
  process is forked by one long-lived spawner thread, never by a step's thread (a model server
  outlives the step that started it). An isolated pod's namespace dies with that process, and
  with it everything the pod started (:mod:`mlflows.local.executor.isolation`).
- It runs in a session of its own, so :meth:`PodProcess.stop` reaches what it started: SIGTERM, a
  grace period, SIGKILL — as deleting its pod does.
- A thread of its own waits for it, so whoever waits for it blocks until it ends or is stopped
  (:meth:`PodProcess.wait`), without polling.
- Its exit code is the container's: 128+N when signal N ended it (137 for SIGKILL, 143 for
  SIGTERM), as Kubernetes reports it, where a local process says -N.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from contextlib import nullcontext
from typing import IO

from mlflows.local.controller.stop import StopEvent

PR_SET_PDEATHSIG = 1
# How long a stopped pod may take to end after SIGTERM. The kubelet grants 30 s by default;
# nothing run here needs that long.
GRACE_SECONDS = 5.0


def container_exit_code(returncode: int) -> int:
    """A process's return code as a container's exit code: -N (signal N) becomes 128+N."""
    return 128 - returncode if returncode < 0 else returncode


class PodProcess:
    """A started process: its container exit code once it ended, waits and stopping."""

    def __init__(self, popen: subprocess.Popen):
        self._popen = popen
        self._changed = threading.Condition()
        self.exit_code: int | None = None
        threading.Thread(target=self._reap, name=f"wait-{popen.pid}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def stdout(self) -> IO[bytes] | None:
        return self._popen.stdout

    @property
    def stderr(self) -> IO[bytes] | None:
        return self._popen.stderr

    def poll(self) -> int | None:
        """The exit code once it ended, else None."""
        return self.exit_code

    def wait(self, cancel: StopEvent | None = None, timeout: float | None = None) -> bool:
        """Block until it ends (True), or ``cancel`` is set or ``timeout`` passes (False)."""

        def ended_or_cancelled() -> bool:
            return self.exit_code is not None or (cancel is not None and cancel.is_set())

        with cancel.listening(self._wake) if cancel else nullcontext(), self._changed:
            self._changed.wait_for(ended_or_cancelled, timeout)
            return self.exit_code is not None

    def stop(self, grace_seconds: float = GRACE_SECONDS) -> None:
        """Stop it as deleting its pod would: SIGTERM to its session's group, SIGKILL to what is
        left after ``grace_seconds`` (also to what a process that already ended left behind)."""
        if self.exit_code is None:
            self._signal_group(signal.SIGTERM)
            self.wait(timeout=grace_seconds)
        self._signal_group(signal.SIGKILL)
        self.wait()

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self._popen.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already

    def _reap(self) -> None:
        code = container_exit_code(self._popen.wait())
        with self._changed:
            self.exit_code = code
            self._changed.notify_all()

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()


def spawn(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: str | os.PathLike,
    stdout: int | IO | None,
    stderr: int | IO | None,
    pass_fds: tuple[int, ...] = (),
) -> PodProcess:
    """Start ``argv`` from the spawner thread (see the module docstring); OSError if it cannot."""
    started: Future[subprocess.Popen] = Future()
    _spawner_queue().put(
        (
            started,
            {
                "args": argv,
                "env": env,
                "cwd": cwd,
                "stdout": stdout,
                "stderr": stderr,
                "pass_fds": pass_fds,
            },
        )
    )
    return PodProcess(started.result())


_queue: queue.SimpleQueue | None = None
_queue_lock = threading.Lock()


def _spawner_queue() -> queue.SimpleQueue:
    """The spawner thread's requests; the thread starts with the first and lives as long as this
    process."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(_queue,), name="spawner", daemon=True).start()
        return _queue


def _serve(requests: queue.SimpleQueue) -> None:
    die_with_runner = _parent_death_signal(os.getpid())
    while True:
        started, options = requests.get()
        try:
            popen = subprocess.Popen(
                **options,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_runner,
            )
        except BaseException as err:  # handed to the caller, whose error it is
            started.set_exception(err)
        else:
            started.set_result(popen)


def _parent_death_signal(runner_pid: int):
    """What the child runs before exec: SIGKILL it when the spawner thread ends (and at once if the
    runner is already gone). None where Linux's prctl is missing."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the forked child

    def die_with_runner() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != runner_pid:
            os._exit(1)

    return die_with_runner
