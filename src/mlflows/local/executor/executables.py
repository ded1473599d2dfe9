"""Whether a container's command can run on this machine, checked before anything runs.

No image is pulled here, so only what this machine has can run: a command named by an image of
its own (``argosay``, ``nginx``, ``influxd``), or a container without a command (its args, if
any, would go to the image's entrypoint), is refused up front in one line naming the template,
the image and the executable, never a Failed node; so is a program that a simple shell string or
a shell script runs (``sh -c "cowsay hello"``: :mod:`mlflows.local.executor.shell_programs`).
``python``/``python3`` are this interpreter (:mod:`mlflows.local.executor.process`). A ``{{...}}``
executable is known only at run time, and a relative path (``./run``) only in its working
directory, a path on a volume only once the volume is there: none of these is checked.
"""

from __future__ import annotations

import os
import shutil

from mlflows.errors import UserError
from mlflows.local.executor.shell_programs import is_shell, programs_run, shell_script

PYTHON_NAMES = ("python", "python3")


def check_executable(where: str, container: dict) -> None:
    """UserError unless the executable ``container`` starts is on this machine."""
    command, args = container.get("command") or [], container.get("args") or []
    if not (isinstance(command, list) and isinstance(args, list)):
        return  # a whole list given as an expression: known only at run time
    image = container.get("image") or "(no image)"
    if not command:  # Kubernetes: args alone are handed to the image's ENTRYPOINT
        given = "only args" if args else "no command or args"
        raise UserError(
            f"{where}: image {image} has {given}, so it would run the image's entrypoint, "
            "which cannot run here (no container engine); give the command explicitly"
        )
    argv = [str(arg) for arg in [*command, *args]]
    executable = argv[0]
    if "{{" in executable or executable in PYTHON_NAMES or _on_a_volume(executable, container):
        return
    if not _present(executable):
        raise _missing(where, image, executable)
    script = shell_script(argv) if "source" not in container else _shell_source(container)
    for program in programs_run(script) if script else []:
        if not _present(program):
            raise _missing(where, image, program, "in its shell script")


def _missing(where: str, image: str, executable: str, how: str = "") -> UserError:
    return UserError(
        f"{where}: image {image} runs {executable!r}{' ' + how if how else ''}, which is not on "
        "this machine (images are not used here); use a command installed here"
    )


def _shell_source(script_template: dict) -> str | None:
    """A script template's source, when a shell runs it (``command: [sh]``)."""
    command = script_template.get("command") or []
    source = script_template.get("source")
    shell = len(command) == 1 and is_shell(str(command[0]))
    return source if shell and isinstance(source, str) else None


def _on_a_volume(executable: str, container: dict) -> bool:
    """A path under one of the container's mounts: the volume's content exists only at run time."""
    mounts = container.get("volumeMounts")
    paths = (
        [m.get("mountPath") for m in mounts if isinstance(m, dict)]
        if isinstance(mounts, list)
        else []
    )
    return any(
        isinstance(path, str) and path and executable.startswith(path.rstrip("/") + "/")
        for path in paths
    )


def _present(executable: str) -> bool:
    if os.path.isabs(executable):
        return os.path.isfile(executable) and os.access(executable, os.X_OK)
    if "/" in executable:  # relative to the working directory, which exists only at run time
        return True
    return shutil.which(executable) is not None
