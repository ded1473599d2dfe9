"""How a pod's process sees this machine, decided once per process by a probe
(:func:`pod_isolation`), and how a pod is started that way (:func:`start_pod`).

**Isolated** — where Linux lets this user make mount and PID namespaces with util-linux
``unshare`` (as root, or in an unprivileged user namespace) — each pod runs under
:mod:`mlflows.local.executor.podinit` in namespaces of its own:

- its volumes at their real ``mountPath`` s, read-only where ``readOnly``; a private ``/tmp`` (the
  node's ``<scratch>/tmp``); a script's source at ``/argo/staging/script``, where Argo's executor
  puts it;
- the rest of this machine read-only (a new path outside it lands in a private tmpfs that ends
  with the pod, as a container's own layer would; so can an output path the host lacks, even
  below a host directory, as ``/mnt/out``);
- its ``workingDir``, or else ``/``, the ``WORKDIR`` of most images: a ``result.txt`` it writes
  there is ``/result.txt``, in its private layer;
- a PID namespace of its own: when the pod's command ends, is stopped, or the runner dies,
  everything the pod started dies with it;
- its output files outside its volumes copied to ``<scratch>/outputs/<path>`` once it ends.

The network is the host's, so TFJob replicas reach each other on localhost.

**Not isolated** — elsewhere, or with ``MLFLOWS_POD_ISOLATION=none`` — a pod is a plain process:
mount paths are rewritten to the volumes' local directories in its command, args, env values,
working directory and script (:func:`~mlflows.local.executor.volumes.rewrite`), and an output path
outside its volumes to ``<scratch>/outputs/<path>``. Its working directory is ``workingDir`` (so
rewritten), or else ``<scratch>/work``: the host's ``/`` is not the pod's to write. ``readOnly`` is
not enforced, the pod can write wherever this user can, and only its main process dies with the
runner.
"""

from __future__ import annotations

import functools
import marshal
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mlflows.errors import UserError
from mlflows.local.executor.process import Command
from mlflows.local.executor.spawner import PodProcess, spawn
from mlflows.local.executor.volumes import Mount, rewrite

SETTING = "MLFLOWS_POD_ISOLATION"
PODINIT = Path(__file__).with_name("podinit.py")
SCRIPT_PATH = "/argo/staging/script"  # argoexec's ExecutorScriptSourcePath
NAMESPACES = ("--mount", "--pid", "--fork", "--kill-child")
# Run as a pod by the probe: its parent is PID 1 of its namespace, and a read-only mount refuses it.
PROBE = """
import errno, os, sys
try:
    open("/probe/file", "w")
except OSError as err:
    sys.exit(0 if err.errno == errno.EROFS and os.getppid() == 1 else 3)
sys.exit(4)
"""


@dataclass(frozen=True)
class Isolation:
    """How this process runs pods: ``unshare`` is the command that isolates one (empty: none)."""

    unshare: tuple[str, ...]
    detail: str  # how they are isolated, or why they are not

    @property
    def isolated(self) -> bool:
        return bool(self.unshare)

    def note(self) -> str:
        """One line for the start of a run."""
        if self.isolated:
            return (
                f"pods are isolated ({self.detail}): volumes at their mount paths, a private "
                "/tmp, the rest of this machine read-only"
            )
        return (
            f"pods are not isolated ({self.detail}): they can write wherever you can, and mount "
            "paths are rewritten to local directories"
        )


@dataclass(frozen=True)
class PodSpec:
    """One pod to start: its command as the container says it, and what it is given."""

    name: str
    command: Command
    mounts: tuple[Mount, ...]
    scratch: Path  # the pod's own directory: its /tmp, outputs, working directory if not isolated
    extra_env: dict[str, str] = field(default_factory=dict)  # as is, over all (TF_CONFIG, ...)
    script: str | None = None  # a script template's source: its file is appended to the command
    output_files: tuple[str, ...] = ()  # paths as the pod sees them, read once it ended
    output_artifacts: tuple[str, ...] = ()  # the same, files or directories the pod makes


class PodSetupError(OSError):
    """An isolated pod's view of the machine could not be built (say, a mount failed)."""


def pod_isolation() -> Isolation:
    """Isolated if the probe could isolate a pod here (probed once per process), unless
    ``MLFLOWS_POD_ISOLATION=none``."""
    setting = os.environ.get(SETTING, "auto")
    if setting == "none":
        return Isolation((), f"{SETTING}=none")
    if setting != "auto":
        raise UserError(f"{SETTING}={setting!r}: use auto (the default) or none")
    return _probed()


def output_file(path: str, pod: PodSpec) -> Path:
    """Where the runner reads the pod's output file ``path`` once the pod ended."""
    local = rewrite(path, list(pod.mounts))
    if local != path:
        return Path(local)
    # normalized as inside the pod, so a ".." cannot climb out of the scratch directory
    return pod.scratch / "outputs" / posixpath.normpath("/" + path).lstrip("/")


def start_pod(
    pod: PodSpec, *, stdout: int | IO, stderr: int | IO, isolation: Isolation | None = None
) -> PodProcess:
    """Start the pod's process (see the module docstring). OSError if its command cannot start:
    FileNotFoundError, PermissionError, or PodSetupError."""
    isolation = isolation or pod_isolation()
    (pod.scratch / "outputs").mkdir(parents=True, exist_ok=True)
    if isolation.isolated:
        return _start_isolated(pod, isolation.unshare, stdout, stderr)
    return _start_rewritten(pod, stdout, stderr)


def _private_outputs(pod: PodSpec) -> list[str]:
    """The output files outside the pod's volumes."""
    paths = pod.output_files + pod.output_artifacts
    return [path for path in paths if rewrite(path, list(pod.mounts)) == path]


def _write_script(pod: PodSpec, source: str) -> Path:
    script = pod.scratch / "script"
    script.write_text(source)
    script.chmod(0o755)  # as argoexec stages it: a script may be run as a command ([sh, -c])
    return script


def _first_missing(path: str) -> str:
    """The topmost directory of ``path`` this machine lacks, else ``path``: what a pod makes in
    its own layer, so it is rewritten whole (a ``mkdir`` of it must not reach the host)."""
    while posixpath.dirname(path) not in ("/", "") and not os.path.exists(posixpath.dirname(path)):
        path = posixpath.dirname(path)
    return path


def _start_rewritten(pod: PodSpec, stdout: int | IO, stderr: int | IO) -> PodProcess:
    paths = [_first_missing(p) if p in pod.output_artifacts else p for p in _private_outputs(pod)]
    private = [Mount(path, output_file(path, pod)) for path in dict.fromkeys(paths)]
    for mount in private:
        mount.local_dir.parent.mkdir(parents=True, exist_ok=True)
    mounts = [*pod.mounts, *private]
    argv = [rewrite(arg, mounts) for arg in pod.command.argv]
    if pod.script is not None:
        argv.append(str(_write_script(pod, rewrite(pod.script, mounts))))
    env = {name: rewrite(value, mounts) for name, value in pod.command.env.items()}
    working_dir = pod.command.working_dir
    cwd = Path(rewrite(working_dir, mounts)) if working_dir else pod.scratch / "work"
    cwd.mkdir(parents=True, exist_ok=True)
    return spawn(
        argv, env={**os.environ, **env, **pod.extra_env}, cwd=cwd, stdout=stdout, stderr=stderr
    )


def _start_isolated(
    pod: PodSpec, unshare: tuple[str, ...], stdout: int | IO, stderr: int | IO
) -> PodProcess:
    mounts = list(pod.mounts)
    if not any(mount.mount_path == "/tmp" for mount in mounts):
        mounts.append(Mount("/tmp", pod.scratch / "tmp"))
    for path in sorted(_hidden_by_private_tmp(_interpreter_dirs())):
        mounts.append(Mount(path, Path(path), read_only=True))
    argv = list(pod.command.argv)
    if pod.script is not None:
        mounts.append(Mount(SCRIPT_PATH, _write_script(pod, pod.script), read_only=True))
        argv.append(SCRIPT_PATH)
    for directory in ("root", "tmp"):
        (pod.scratch / directory).mkdir(parents=True, exist_ok=True)
    plan = {
        "root": str(pod.scratch / "root"),
        "mounts": [
            {"path": m.mount_path, "source": str(m.local_dir), "readOnly": m.read_only}
            for m in mounts
        ],
        "argv": argv,
        # without one, the image's WORKDIR: "/" for most images, new files there in the pod's layer
        "workingDir": pod.command.working_dir or "/",
        "outputs": _private_outputs(pod),
        "artifacts": list(pod.output_artifacts),
        "outputsDir": str(pod.scratch / "outputs"),
    }
    plan_file = pod.scratch / "pod.plan"
    plan_file.write_bytes(marshal.dumps(plan))
    status_read, status_write = os.pipe()
    try:
        process = spawn(
            [*unshare, sys.executable, "-I", "-S", str(PODINIT), str(plan_file), str(status_write)],
            env={**os.environ, **pod.command.env, **pod.extra_env},
            cwd=pod.scratch,
            stdout=stdout,
            stderr=stderr,
            pass_fds=(status_write,),
        )
    finally:
        os.close(status_write)
    with os.fdopen(status_read, encoding="utf-8") as status:
        said = status.readline().strip()  # podinit's, once the command started or could not
    if said == "started":
        return process
    process.wait()
    kind, _, detail = said.partition(" ")
    if kind == "error":
        number, _, text = detail.partition(" ")
        raise OSError(int(number), text)
    raise PodSetupError(
        detail or f"the pod's init ended with exit code {process.exit_code} (see its log)"
    )


@functools.cache
def _interpreter_dirs() -> tuple[str, ...]:
    """What running ``python`` and importing mlflows in a pod reads: this interpreter's
    environment and the folder mlflows is imported from (an editable install's source)."""
    package_root = Path(__file__).resolve().parents[3]  # .../src of src/mlflows/local/executor
    return (sys.prefix, sys.exec_prefix, sys.base_prefix, str(package_root))


def _hidden_by_private_tmp(paths: tuple[str, ...]) -> set[str]:
    """Those of ``paths`` that live under the host's /tmp, which a pod's private /tmp hides: a
    virtual environment or source there (a CI clone, say) is bound back, read-only. Only these:
    a whole working directory bound back could hold the run's own folders, which an output of
    the pod's /tmp would then copy into themselves."""
    return {
        os.path.realpath(path)
        for path in paths
        if path and os.path.isdir(path) and os.path.realpath(path).startswith("/tmp/")
    }


@functools.cache
def _probed() -> Isolation:
    if not sys.platform.startswith("linux"):
        return Isolation((), "namespaces are Linux's")
    unshare = shutil.which("unshare")
    if unshare is None:
        return Isolation((), "util-linux unshare is not installed")
    candidates = [((unshare, *NAMESPACES), "mount and PID namespaces")] if os.geteuid() == 0 else []
    candidates.append(
        ((unshare, "--user", "--map-root-user", *NAMESPACES), "user, mount and PID namespaces")
    )
    failure = ""
    for command, how in candidates:
        failure = _probe(command)
        if not failure:
            return Isolation(command, how)
    return Isolation((), failure)


def _probe(unshare: tuple[str, ...]) -> str:
    """Start a pod isolated with ``unshare`` that checks its view; why it failed, or ""."""
    with tempfile.TemporaryDirectory(prefix="mlflows-isolation-probe-") as directory:
        scratch = Path(directory)
        read_only = scratch / "read-only"
        read_only.mkdir()
        pod = PodSpec(
            "isolation probe",
            Command([sys.executable, "-I", "-S", "-c", PROBE]),
            (Mount("/probe", read_only, read_only=True),),
            scratch / "pod",
        )
        log_path = scratch / "log"
        with open(log_path, "wb") as log:
            try:
                process = start_pod(
                    pod, stdout=log, stderr=subprocess.STDOUT, isolation=Isolation(unshare, "")
                )
            except OSError as err:
                return f"{Path(unshare[0]).name} could not isolate a pod: {err.strerror or err}"
            process.wait()
        if process.exit_code == 0:
            return ""
        said = log_path.read_text(errors="replace").strip().splitlines()
        return said[-1] if said else f"the probe pod ended with exit code {process.exit_code}"
