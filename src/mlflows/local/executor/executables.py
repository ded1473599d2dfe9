"""Whether a container's command can run on this machine, checked before anything runs.

No image is pulled here, so only what this machine has can run: a command named by an image of
its own (``argosay``, ``nginx``, ``influxd``), or a container without a command (which would run
the image's entrypoint), is refused up front in one line naming the template, the image and the
executable, never a Failed node. ``python``/``python3`` are this interpreter
(:mod:`mlflows.local.executor.process`). A ``{{...}}`` executable is known only at run time, and a
relative path (``./run``) only in its working directory, a path on a volume only once the volume
is there: none of these is checked.
"""

from __future__ import annotations

import os
import shutil

from mlflows.errors import UserError

PYTHON_NAMES = ("python", "python3")


def check_executable(where: str, container: dict) -> None:
    """UserError unless the executable ``container`` starts is on this machine."""
    command, args = container.get("command") or [], container.get("args") or []
    if not (isinstance(command, list) and isinstance(args, list)):
        return  # a whole list given as an expression: known only at run time
    argv = [*command, *args]
    image = container.get("image") or "(no image)"
    if not argv:
        raise UserError(
            f"{where}: image {image} has no command or args, so it would run the image's "
            "entrypoint, "
            "which cannot run here (no container engine); give the command explicitly"
        )
    executable = str(argv[0])
    if "{{" in executable or executable in PYTHON_NAMES or _on_a_volume(executable, container):
        return
    if _present(executable):
        return
    raise UserError(
        f"{where}: image {image} runs {executable!r}, which is not on this machine (images are "
        "not used here); use a command installed here"
    )


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
