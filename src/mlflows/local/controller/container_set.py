"""``containerSet`` templates: several containers in one pod, as Argo v3.1+ runs them.

Following operator.go (executeContainerSet) and the emissary executor: every container of the set
has a node of type Container, ``<pod node>.<container>``, a child of the pod's node if it has no
``dependencies``, else of each container it depends on. A container starts once each of its
dependencies ended; one whose dependency failed does not run its command and fails with
``dependency "<name>" exited with non-zero code: N``. ``containerSet.volumeMounts`` are mounted
in every container; ``containerSet.retryStrategy`` (``retries``, ``duration``) re-runs a failing
container's command in place, ``duration`` apart. The pod's outputs (``result``, ``exitCode``,
output parameters) are those of the container named ``main``; the pod fails with the first
container that failed. One pod: one parallelism slot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlflows.duration import parse_go_duration
from mlflows.errors import UserError
from mlflows.local.controller.nodes import Node, NodeType, Outputs, Phase
from mlflows.local.controller.stop import StopEvent
from mlflows.local.executor.pod import PodResult

if TYPE_CHECKING:
    from mlflows.local.controller.engine import Engine

KIND = "containerSet"
FIELDS = {"containers", "volumeMounts", "retryStrategy"}
RETRY_FIELDS = {"retries", "duration"}
MAIN = "main"

# Runs one container to its end as a pod of its own: (template, its node, cancel).
RunContainer = Callable[[dict, Node, StopEvent], PodResult]


def check(where: str, container_set: dict) -> list[dict]:
    """UserError for a containerSet Argo would refuse; its containers."""
    containers = container_set.get("containers") or []
    if not containers:
        raise UserError(f"{where}: containerSet needs containers")
    names = [container.get("name") for container in containers]
    for container in containers:
        for dependency in container.get("dependencies") or []:
            if dependency not in names:
                raise UserError(
                    f"{where}: containerSet container {container['name']} depends on "
                    f"{dependency!r}, which is not a container of the set"
                )
    retry = container_set.get("retryStrategy") or {}
    retries(where, retry)
    if retry.get("duration") is not None:
        try:
            parse_go_duration(str(retry["duration"]))
        except ValueError as err:
            raise UserError(f"{where}: containerSet.retryStrategy.duration: {err}") from None
    return containers


def retries(where: str, retry: dict) -> int:
    value = retry.get("retries", 0)
    if isinstance(value, bool) or not str(value).isdigit():
        raise UserError(f"{where}: containerSet.retryStrategy.retries must be a whole number")
    return int(value)


def container_templates(template: dict) -> list[dict]:
    """Each container of the set as a container template of its own (the set's mounts first)."""
    container_set = template[KIND]
    shared = container_set.get("volumeMounts") or []
    own = []
    for container in container_set["containers"]:
        spec = {k: v for k, v in container.items() if k != "dependencies"}
        spec["volumeMounts"] = [*shared, *(container.get("volumeMounts") or [])]
        one = {"name": template.get("name", KIND), "container": spec}
        if template.get("volumes"):
            one["volumes"] = template["volumes"]
        if container["name"] == MAIN and template.get("outputs"):
            one["outputs"] = template["outputs"]
        own.append(one)
    return own


def run_container_set(
    engine: Engine, node: Node, template: dict, cancel: StopEvent, run: RunContainer
) -> PodResult:
    """Run the set's containers in dependency order; the pod's result."""
    container_set = template[KIND]
    containers = container_set["containers"]
    retry = container_set.get("retryStrategy") or {}
    attempts = retries("containerSet", retry) + 1
    pause = parse_go_duration(str(retry["duration"])) if retry.get("duration") else 0.0
    nodes = {
        c["name"]: engine.nodes.create(
            f"{node.name}.{c['name']}",
            display_name=c["name"],
            type=NodeType.CONTAINER,
            template_name=None,
            boundary_id=node.boundary_id,
            parent_id=node.id,
            template_scope=node.template_scope,
        )
        for c in containers
    }
    for container in containers:
        for parent in container.get("dependencies") or [None]:
            engine.nodes.link(nodes[parent] if parent else node, nodes[container["name"]])
    results: dict[str, PodResult] = {}
    done = {name: threading.Event() for name in nodes}

    def run_one(container: dict, own: dict) -> None:
        name = container["name"]
        try:
            for dependency in container.get("dependencies") or []:
                done[dependency].wait()
                code = results[dependency].outputs.exit_code
                if results[dependency].phase != Phase.SUCCEEDED:
                    message = f'dependency "{dependency}" exited with non-zero code: {code}'
                    results[name] = PodResult(Phase.FAILED, message, Outputs())
                    engine.finish(nodes[name], Phase.FAILED, message)
                    return
            engine.nodes.update(nodes[name], phase=Phase.RUNNING)
            for attempt in range(attempts):
                if attempt and cancel.wait(pause):
                    break
                results[name] = run(own, nodes[name], cancel)
                if results[name].phase == Phase.SUCCEEDED or cancel.is_set():
                    break
            result = results[name]
            engine.finish(nodes[name], result.phase, result.message, outputs=result.outputs)
        finally:
            done[name].set()

    threads = [
        threading.Thread(target=run_one, args=(c, own), name=f"{node.name}.{c['name']}")
        for c, own in zip(containers, container_templates(template), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    main = results.get(MAIN)
    failed = next(
        (results[c["name"]] for c in containers if results[c["name"]].phase != Phase.SUCCEEDED),
        None,
    )
    outputs = main.outputs if main else Outputs()
    if failed is not None:
        return PodResult(failed.phase, failed.message, outputs)
    return PodResult(Phase.SUCCEEDED, "", outputs)
