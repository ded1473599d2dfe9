"""A container spec as a local command: argv, environment and working directory.

The image is not used (there is no container engine here): ``python``/``python3`` run as this
interpreter, so the entry points come from the installed package. How the command then sees the
machine — its volumes, its ``/tmp`` — is :mod:`mlflows.local.executor.isolation`'s.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from mlflows.errors import UserError
from mlflows.local.executor.executables import check_executable

PYTHON_NAMES = {"python", "python3", sys.executable}


@dataclass(frozen=True)
class Command:
    """What a container runs, as its pod sees it: argv (``python`` is this interpreter), the
    container's own environment variables (set over the runner's), its ``workingDir``."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None


def check_container(container: dict, where: str) -> None:
    """UserError unless ``container`` can run here: its executable is on this machine (with no
    image, nothing supplies an entrypoint), and nothing resolves an env ``valueFrom``."""
    check_executable(where, container)
    for variable in container.get("env") or []:
        if "value" not in variable:
            raise UserError(
                f"{where}: env {variable.get('name')} uses valueFrom, which the local runner "
                "does not resolve; give it a value"
            )


def container_command(container: dict) -> Command:
    """What ``container`` (one that passed :func:`check_container` before the run) runs."""
    argv = [str(arg) for arg in [*container.get("command", []), *container.get("args", [])]]
    if argv[0] in PYTHON_NAMES:
        argv[0] = sys.executable
    env = {var["name"]: str(var["value"]) for var in container.get("env", [])}
    return Command(argv, env, container.get("workingDir"))
