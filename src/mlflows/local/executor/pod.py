"""A container or script template run as one local process, standing in for its pod.

The process gets the container's command and args (a script's ``source`` is written to a file whose
path is appended, as Argo's executor does), its env, and mount paths rewritten to local directories
(:mod:`mlflows.local.executor.volumes`). Its working directory is ``workingDir`` or a scratch
directory of the node, with the caller's directory on ``PYTHONPATH`` so local modules still import.

Output files: a ``valueFrom.path`` under a volume mount is read from the volume; any other path
(say ``/tmp/outputs/accuracy``) is private to the node, as a pod's filesystem is: it becomes a file
in the node's scratch directory, and that exact path is rewritten in the command, args, env and
source so the process writes there. stdout and stderr go to the node's log; stdout, less one
trailing newline and at most its last 256 kB as in Argo, is ``outputs.result``.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlflows.local.controller.nodes import Outputs
from mlflows.local.executor.process import invocation, stop_process_group
from mlflows.local.executor.volumes import Mount, VolumeStore, rewrite

KILL_GRACE_SECONDS = 3.0
MAX_RESULT_BYTES = 256 * 1024  # argoexec's maxAnnotationSize
POLL_SECONDS = 0.05


@dataclass
class PodResult:
    phase: str
    message: str
    outputs: Outputs


def run_pod(
    template: dict,
    *,
    volumes: VolumeStore,
    workflow_volumes: list[dict],
    scratch: Path,
    log_path: Path,
    cancel: threading.Event,
    cancel_reason,
) -> PodResult:
    """Run the template's process to the end, or kill it once ``cancel`` is set."""
    kind = "script" if "script" in template else "container"
    container = dict(template[kind])
    scratch.mkdir(parents=True, exist_ok=True)
    mounts = volumes.mounts(
        workflow_volumes + (template.get("volumes") or []),
        container.get("volumeMounts") or [],
        scratch,
    )
    output_files, private_files = _output_files(template, mounts, scratch)
    mounts = mounts + private_files

    call = invocation(container, mounts, extra_env={"PYTHONPATH": _python_path()})
    argv = call.argv
    if kind == "script":
        script = scratch / "script"
        script.write_text(rewrite(container.get("source", ""), mounts))
        argv = [*argv, str(script)]
    cwd = call.cwd or scratch / "work"
    cwd.mkdir(parents=True, exist_ok=True)

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        try:
            process = subprocess.Popen(
                argv,
                env=call.env,
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as err:
            log.write(f"failed to start {argv[0]}: {err}\n".encode())
            return PodResult("Error", f"failed to start {argv[0]}: {err.strerror}", Outputs())
        stdout = _Capture(process.stdout, log, keep=True)
        stderr = _Capture(process.stderr, log, keep=False)
        killed = _wait(process, cancel)
        stop_process_group(process, KILL_GRACE_SECONDS)  # what it left behind ends with it
        stdout.join()
        stderr.join()

    code = process.returncode
    outputs = Outputs(exit_code=str(code), result=script_result(stdout.text()))
    if killed:
        return PodResult("Failed", cancel_reason(), outputs)
    phase, message = ("Succeeded", "") if code == 0 else ("Failed", f"Error (exit code {code})")
    for name, (path, local, default) in output_files.items():
        try:
            value = local.read_text()
            outputs.parameters[name] = value[:-1] if value.endswith("\n") else value
        except OSError:
            if default is not None:
                outputs.parameters[name] = str(default)
            elif phase == "Succeeded":
                phase, message = "Error", f"output parameter {name}: no file at {path}"
    return PodResult(phase, message, outputs)


def script_result(stdout: str) -> str:
    """``outputs.result`` as argoexec's CaptureScriptResult keeps it: stdout less one trailing
    newline, and of a long one only the last 256 kB (so a chatty step cannot swell the status)."""
    result = stdout[:-1] if stdout.endswith("\n") else stdout
    encoded = result.encode()
    if len(encoded) <= MAX_RESULT_BYTES:
        return result
    return encoded[-MAX_RESULT_BYTES:].decode(errors="ignore")


def _output_files(
    template: dict, mounts: list[Mount], scratch: Path
) -> tuple[dict[str, tuple[str, Path, object]], list[Mount]]:
    """Each output parameter's (declared path, local file, default), and the private files."""
    files, private = {}, []
    for param in (template.get("outputs") or {}).get("parameters") or []:
        value_from = param.get("valueFrom") or {}
        path = value_from.get("path")
        if not path:
            continue
        local = rewrite(path, mounts)
        if local == path:
            # normalized as inside the pod, so a ".." cannot climb out of the scratch directory
            local_file = scratch / "outputs" / posixpath.normpath("/" + path).lstrip("/")
            local_file.parent.mkdir(parents=True, exist_ok=True)
            private.append(Mount(path, local_file))
        else:
            local_file = Path(local)
        files[param["name"]] = (path, local_file, value_from.get("default"))
    return files, private


def _python_path() -> str:
    existing = os.environ.get("PYTHONPATH")
    return os.pathsep.join([os.getcwd(), existing] if existing else [os.getcwd()])


def _wait(process: subprocess.Popen, cancel: threading.Event) -> bool:
    """Wait for the process; stop its whole session if ``cancel`` is set. True if stopped."""
    while process.poll() is None:
        if cancel.wait(POLL_SECONDS):
            stop_process_group(process, KILL_GRACE_SECONDS)
            return True
    return False


class _Capture:
    """Copies one pipe into the log as it comes, keeping the text if asked."""

    def __init__(self, pipe: IO[bytes], log: IO[bytes], keep: bool):
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._copy, args=(pipe, log, keep), daemon=True)
        self.thread.start()

    def _copy(self, pipe: IO[bytes], log: IO[bytes], keep: bool) -> None:
        for line in iter(pipe.readline, b""):
            with _LOG_LOCK:
                log.write(line)
                log.flush()
            if keep:
                self.chunks.append(line)
        pipe.close()

    def join(self) -> None:
        self.thread.join()

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")


_LOG_LOCK = threading.Lock()
