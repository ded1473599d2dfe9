"""A container or script template run as one local process, standing in for its pod.

The process gets the container's command and args (a script's ``source`` is written to a file whose
path is appended, as Argo's executor does), its env, and its volumes — bound at their mount paths
in an isolated pod, else by rewriting the paths (:mod:`mlflows.local.executor.isolation`). Its
working directory is ``workingDir`` or a scratch directory of the node, with the caller's
directory on ``PYTHONPATH`` so local modules still import.

Its ``initContainers`` run first and its ``sidecars`` beside it
(:mod:`mlflows.local.executor.sidecars`).

Output files: a ``valueFrom.path`` under a volume mount is read from the volume; any other path
(say ``/tmp/outputs/accuracy``) is private to the node, as a pod's filesystem is, and is read from
``<scratch>/outputs/<path>`` once the pod ended. stdout and stderr go to the node's log in the
order they arrive; stdout, less one trailing newline and at most its last 256 kB as in Argo, is
``outputs.result``.
``outputs.exitCode`` is the container's: 137 for a process killed by SIGKILL, 143 for SIGTERM.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlflows.local.controller.artifacts import ArtifactError, PodArtifacts
from mlflows.local.controller.nodes import Outputs
from mlflows.local.controller.stop import StopEvent
from mlflows.local.executor.isolation import PodSetupError, PodSpec, output_file, start_pod
from mlflows.local.executor.process import container_command
from mlflows.local.executor.sidecars import Sidecars, run_init_containers, with_mounts
from mlflows.local.executor.spawner import PodProcess
from mlflows.local.executor.volumes import VolumeStore

MAX_RESULT_BYTES = 256 * 1024  # argoexec's maxAnnotationSize
HOST_NODE_NAME = socket.gethostname()  # every pod's node: the one machine (pod.Spec.NodeName)
READ_BYTES = 64 * 1024


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
    cancel: StopEvent,
    cancel_reason,
    artifacts: PodArtifacts | None = None,
    on_started: Callable[[PodProcess], None] | None = None,
    pod_dir: Path | None = None,
) -> PodResult:
    """Run the template's process to the end, or stop it once ``cancel`` is set; ``on_started``
    is told once the main container started (a daemon awaits its readiness). ``pod_dir`` holds
    the pod's emptyDir volumes (default ``scratch``): a containerSet's containers share it."""
    kind = "script" if "script" in template else "container"
    container = template[kind]
    scratch.mkdir(parents=True, exist_ok=True)
    mounts = volumes.mounts(
        workflow_volumes + (template.get("volumes") or []),
        container.get("volumeMounts") or [],
        pod_dir or scratch,
    )
    outputs_declared = _output_parameters(template)
    try:
        staged = artifacts.stage(scratch) if artifacts else []
    except ArtifactError as err:
        return PodResult("Error", str(err), Outputs())
    pod = PodSpec(
        template.get("name", kind),
        container_command(container),
        tuple(mounts + staged),
        scratch,
        extra_env={"PYTHONPATH": _python_path()},
        script=container.get("source", "") if kind == "script" else None,
        output_files=tuple(path for path, _ in outputs_declared.values()),
        output_artifacts=artifacts.output_paths if artifacts else (),
    )

    def start_container(other: dict, log: IO[bytes]):  # an init container or a sidecar
        other = with_mounts(other, container)
        other_mounts = volumes.mounts(
            workflow_volumes + (template.get("volumes") or []),
            other.get("volumeMounts") or [],
            pod_dir or scratch,
        )
        spec = PodSpec(
            other["name"],
            container_command(other),
            tuple(other_mounts),
            scratch,
            extra_env={"PYTHONPATH": _python_path()},
        )
        return start_pod(spec, stdout=log, stderr=subprocess.STDOUT)

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        failure = run_init_containers(template, start_container, log, cancel)
        if failure:
            log.write(f"{failure}\n".encode())
            return PodResult("Failed", failure, Outputs())
        sidecars = None
        output = _Output()
        try:
            sidecars = Sidecars(template, start_container, log_path)
            process = start_pod(pod, stdout=output.stdout, stderr=output.stderr)
        except OSError as err:
            output.close()
            if sidecars is not None:
                sidecars.stop()
            message = (
                f"failed to set up the pod: {err}"
                if isinstance(err, PodSetupError)
                else f"failed to start {pod.command.argv[0]}: {err.strerror}"
            )
            log.write(f"{message}\n".encode())
            return PodResult("Error", message, Outputs())
        output.copy_to(log)
        if on_started is not None:
            on_started(process)
        ended = process.wait(cancel)
        process.stop()  # what it left behind ends with it; a cancelled one ends now
        sidecars.stop()  # as argoexec's wait container kills them once main completed
        output.join()

    code = process.exit_code
    outputs = Outputs(exit_code=str(code), result=script_result(output.text()))
    if not ended:
        return PodResult("Failed", cancel_reason(), outputs)
    phase, message = ("Succeeded", "") if code == 0 else ("Failed", f"Error (exit code {code})")
    for name, (path, default) in outputs_declared.items():
        try:
            value = output_file(path, pod).read_text()
            outputs.parameters[name] = value[:-1] if value.endswith("\n") else value
        except OSError:
            if default is not None:
                outputs.parameters[name] = str(default)
            elif phase == "Succeeded":
                phase, message = "Error", f"output parameter {name}: no file at {path}"
    try:
        outputs.artifacts = artifacts.save(lambda path: output_file(path, pod)) if artifacts else {}
    except ArtifactError as err:
        if phase == "Succeeded":
            phase, message = "Error", str(err)
    return PodResult(phase, message, outputs)


def _output_parameters(template: dict) -> dict[str, tuple[str, object]]:
    """Each output parameter read from a file: its path (as the pod sees it) and default."""
    files = {}
    for param in (template.get("outputs") or {}).get("parameters") or []:
        value_from = param.get("valueFrom") or {}
        if value_from.get("path"):
            files[param["name"]] = (value_from["path"], value_from.get("default"))
    return files


def script_result(stdout: str) -> str:
    """``outputs.result`` as argoexec's CaptureScriptResult keeps it: stdout less one trailing
    newline, and of a long one only the last 256 kB (so a chatty step cannot swell the status)."""
    result = stdout[:-1] if stdout.endswith("\n") else stdout
    encoded = result.encode()
    if len(encoded) <= MAX_RESULT_BYTES:
        return result
    return encoded[-MAX_RESULT_BYTES:].decode(errors="ignore")


def _python_path() -> str:
    existing = os.environ.get("PYTHONPATH")
    return os.pathsep.join([os.getcwd(), existing] if existing else [os.getcwd()])


class _Output:
    """The process's stdout and stderr: two pipes copied into the log by one loop, in the order
    they became readable, stdout's text kept.

    The pipes are watched (epoll, whose ready list is first come, first served) before the
    process starts, so even two lines written at once, before the loop runs, keep their order;
    the log's last ``error:`` line is then the last one written."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        ends = [os.pipe() for _ in range(2)]
        for read, _ in ends:
            self.selector.register(read, selectors.EVENT_READ)
        self._stdout_fd = ends[0][0]
        self.stdout, self.stderr = (write for _, write in ends)  # for the process
        self.chunks: list[bytes] = []
        self.thread: threading.Thread | None = None

    def copy_to(self, log: IO[bytes]) -> None:
        """Start copying, once the process holds its ends."""
        os.close(self.stdout)
        os.close(self.stderr)
        self.thread = threading.Thread(target=self._copy, args=(log,), daemon=True)
        self.thread.start()

    def _copy(self, log: IO[bytes]) -> None:
        with self.selector:
            while self.selector.get_map():
                for key, _ in self.selector.select():
                    chunk = os.read(key.fd, READ_BYTES)
                    if not chunk:  # closed: the process and all it started are done with it
                        self.selector.unregister(key.fd)
                        os.close(key.fd)
                        continue
                    log.write(chunk)
                    log.flush()
                    if key.fd == self._stdout_fd:
                        self.chunks.append(chunk)

    def close(self) -> None:
        """Release the pipes of a process that never started."""
        for key in list(self.selector.get_map().values()):
            os.close(key.fd)
        os.close(self.stdout)
        os.close(self.stderr)
        self.selector.close()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")
