"""Mutexes and semaphores (template and workflow level), as Argo's workflow/sync keeps them."""

import pytest
import yaml
from localrun_helpers import by_display_name, dag, inputs, sh, task, workflow

from mlflows.errors import UserError
from mlflows.local.cluster.objects import ObjectStore
from mlflows.local.controller.nodes import NodeStore, NodeType
from mlflows.local.controller.stop import StopEvent
from mlflows.local.controller.sync import LockRef, Locks

DATA = {"name": "data", "persistentVolumeClaim": {"claimName": "sync-log"}}
MOUNT = [{"name": "data", "mountPath": "/mnt/data"}]


def config_map(tmp_path, name="limits", **data):
    path = tmp_path / f"{name}.yaml"
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    path.write_text(yaml.safe_dump(manifest))
    return path


def fan_out(synchronization, count=5):
    """``count`` parallel tasks of one template held by ``synchronization``; each writes when it
    started and ended to the claim (a pod can only write its volumes)."""
    record = sh(
        "record",
        "f=/mnt/data/{{workflow.name}}-{{inputs.parameters.i}}; date +%s.%N > $f; "
        "sleep 0.4; date +%s.%N >> $f",
        inputs=inputs("i"),
        synchronization=synchronization,
    )
    record["container"]["volumeMounts"] = MOUNT
    each = task(
        "each",
        "record",
        arguments={"parameters": [{"name": "i", "value": "{{item}}"}]},
        withSequence={"count": str(count)},
    )
    return workflow(dag("main", each), record, volumes=[DATA])


def spans(result, tmp_path, count=5):
    claim = tmp_path / "work" / "volumes" / "sync-log"
    found = []
    for i in range(count):
        start, end = (claim / f"{result.name}-{i}").read_text().split()
        found.append((float(start), float(end)))
    return found


def most_at_once(intervals):
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def test_a_template_semaphore_of_two_admits_two_at_once(run_local, tmp_path):
    semaphore = {"semaphores": [{"configMapKeyRef": {"name": "limits", "key": "record"}}]}
    result = run_local(fan_out(semaphore), apply=[config_map(tmp_path, record="2")])
    assert result.phase == "Succeeded"
    nodes = by_display_name(result)
    assert [nodes[f"each({i}:{i})"]["phase"] for i in range(5)] == ["Succeeded"] * 5
    assert most_at_once(spans(result, tmp_path)) == 2


def test_a_mutex_admits_one_at_a_time(run_local, tmp_path):
    result = run_local(fan_out({"mutexes": [{"name": "one"}]}, count=3))
    assert result.phase == "Succeeded"
    assert most_at_once(spans(result, tmp_path, count=3)) == 1


def test_the_singular_v3_fields_mean_one_lock(run_local, tmp_path):
    semaphore = {"semaphore": {"configMapKeyRef": {"name": "limits", "key": "record"}}}
    result = run_local(fan_out(semaphore, count=3), apply=[config_map(tmp_path, record="1")])
    assert result.phase == "Succeeded"
    assert most_at_once(spans(result, tmp_path, count=3)) == 1


def test_a_workflow_level_lock_is_held_at_once(run_local, tmp_path):
    limits = config_map(tmp_path, workflow="1")
    for synchronization in (
        {"mutexes": [{"name": "wf"}]},
        {"semaphores": [{"configMapKeyRef": {"name": "limits", "key": "workflow"}}]},
    ):
        wf = workflow(sh("main", "true"), synchronization=synchronization)
        result = run_local(wf, apply=[limits])
        assert result.phase == "Succeeded"
        assert by_display_name(result)[result.name]["phase"] == "Succeeded"


@pytest.mark.parametrize(
    ("where", "data", "message"),
    [
        ("template", {}, "ConfigMap 'limits' does not have the key 'record'"),
        ("template", None, "ConfigMap 'limits' does not exist in namespace default"),
        ("workflow", {"record": "0"}, "has limit 0, so nothing could ever hold it"),
        ("template", {"record": "many"}, "'many' is not a number"),
    ],
)
def test_a_semaphore_that_could_never_be_held_is_refused(run_local, tmp_path, where, data, message):
    semaphore = {"semaphores": [{"configMapKeyRef": {"name": "limits", "key": "record"}}]}
    if where == "template":
        wf = fan_out(semaphore)
    else:
        wf = workflow(sh("main", "true"), synchronization=semaphore)
    apply = [] if data is None else [config_map(tmp_path, **data)]
    with pytest.raises(UserError, match="semaphore default/ConfigMap/limits/record") as err:
        run_local(wf, apply=apply)
    assert message in str(err.value)
    assert not (tmp_path / "work").exists()  # refused before anything was made


def test_a_template_may_not_wait_for_the_workflows_own_lock(run_local):
    wf = workflow(
        sh("main", "true", synchronization={"mutexes": [{"name": "m"}]}),
        synchronization={"mutexes": [{"name": "m"}]},
    )
    with pytest.raises(UserError, match="default/Mutex/m is held by the workflow's own"):
        run_local(wf)


def test_a_database_lock_is_refused(run_local):
    wf = workflow(
        sh("main", "true", synchronization={"mutexes": [{"name": "m", "database": True}]})
    )
    with pytest.raises(UserError, match="database: true is not supported by the local runner"):
        run_local(wf)


def test_a_waiting_node_shows_argos_message():
    objects = ObjectStore("default")
    objects.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "l"}, "data": {"k": "1"}}
    )
    messages = []
    nodes = NodeStore("wf", lambda node: messages.append(node.message))
    first, second = (
        nodes.create(
            name,
            display_name=name,
            type=NodeType.POD,
            template_name="t",
            boundary_id=None,
            parent_id=None,
        )
        for name in ("wf.a", "wf.b")
    )
    locks, stop = Locks(objects), StopEvent()
    semaphore = [LockRef("default", "l", "k")]
    with locks.holding(semaphore, first, nodes, stop) as held:
        assert held
        stop.set()  # the second waits once, then the run stops
        with locks.holding(semaphore, second, nodes, stop) as second_held:
            assert not second_held
    assert "Waiting for default/ConfigMap/l/k lock. Lock status: 0/1" in messages
    with locks.holding(semaphore, second, nodes, StopEvent()) as held:
        assert held  # given back when the first left, and the stopped waiter left the queue


def test_a_template_shares_a_semaphore_the_workflow_holds_a_place_of(run_local, tmp_path):
    """The workflow takes one of three places; the template's pods share the other two."""
    semaphore = {"semaphores": [{"configMapKeyRef": {"name": "limits", "key": "record"}}]}
    wf = fan_out(semaphore, count=4)
    wf["spec"]["synchronization"] = semaphore
    result = run_local(wf, apply=[config_map(tmp_path, record="3")])
    assert result.phase == "Succeeded"
    assert most_at_once(spans(result, tmp_path, count=4)) == 2
    with pytest.raises(UserError, match="default/ConfigMap/limits/record is held by the work"):
        run_local(wf, apply=[config_map(tmp_path, record="1")])
