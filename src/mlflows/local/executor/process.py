"""A container spec as a local process: argv, environment and working directory.

The image is not used (there is no container engine here): ``python``/``python3`` run as this
interpreter, so the entry points come from the installed package, and mount paths are rewritten
to the volumes' local directories (see :mod:`mlflows.local.executor.volumes`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.executor.volumes import Mount, rewrite

PYTHON_NAMES = {"python", "python3", sys.executable}


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    env: dict[str, str]
    cwd: Path | None


def check_container(container: dict, where: str) -> None:
    """UserError unless ``container`` can run here: with no image, nothing supplies an entrypoint,
    and nothing resolves an env ``valueFrom``."""
    if not (container.get("command") or container.get("args")):
        raise UserError(
            f"{where}: the container has no command or args; the local runner cannot use the "
            "image's entrypoint, so give the command explicitly"
        )
    for variable in container.get("env") or []:
        if "value" not in variable:
            raise UserError(
                f"{where}: env {variable.get('name')} uses valueFrom, which the local runner "
                "does not resolve; give it a value"
            )


def invocation(
    container: dict, mounts: list[Mount], extra_env: dict[str, str] | None = None
) -> Invocation:
    """How to run ``container`` (one that passed :func:`check_container` before the run).
    ``extra_env`` (e.g. TF_CONFIG) wins over the container's."""
    argv = [*container.get("command", []), *container.get("args", [])]
    argv = [rewrite(str(arg), mounts) for arg in argv]
    if argv[0] in PYTHON_NAMES:
        argv[0] = sys.executable

    env = dict(os.environ)
    for var in container.get("env", []):
        env[var["name"]] = rewrite(str(var["value"]), mounts)
    env.update(extra_env or {})

    working_dir = container.get("workingDir")
    cwd = Path(rewrite(working_dir, mounts)) if working_dir else None
    if cwd is not None:
        cwd.mkdir(parents=True, exist_ok=True)
    return Invocation(argv, env, cwd)


def stop_process_group(process: subprocess.Popen, grace_seconds: float) -> None:
    """Stop a process started with ``start_new_session=True`` as deleting its pod would: SIGTERM
    its group, SIGKILL whatever is left after ``grace_seconds`` (also the children of a process
    that already ended), then reap it."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already
