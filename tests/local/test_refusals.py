"""What the runner cannot do is refused with one line before anything runs."""

import pytest
from localrun_helpers import dag, sh, task, workflow

from mlflows.errors import UserError


def marker_workflow(marker, **changes):
    """A DAG whose first task would leave a marker file; ``changes`` patch it to be refused."""
    wf = workflow(
        dag("main", task("first", "touch"), task("second", "other", depends="first")),
        sh("touch", f"touch {marker}"),
        sh("other", "true"),
    )
    for path, value in changes.items():
        target = wf["spec"]
        *parents, last = path.split("/")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return wf


REFUSED = [
    (
        "templates/2/retryStrategy",
        {"limit": 2, "backoff": {"duration": "1s", "factor": 1.5}},
        "retryStrategy.backoff.factor 1.5 is not a whole number",
    ),
    ("activeDeadlineSeconds", "10m", "spec.activeDeadlineSeconds: give a whole number"),
    ("templates/2/container/envFrom", [{"configMapRef": {"name": "x"}}], "'envFrom'"),
    (
        "templates/0/dag/tasks/1/templateRef",
        {"name": "x", "template": "y"},
        "task second: give exactly one of template, templateRef or inline",
    ),
    (
        "templates/2/sidecars",
        [{"name": "s", "image": "x", "command": ["nginx"]}],
        "sidecars[s]: image x runs 'nginx', which is not on this machine",
    ),
    ("templates/2/daemon", "yes", "daemon must be true or false"),
    (
        "templates/2/outputs",
        {"artifacts": [{"name": "a", "path": "/tmp/a", "s3": {"bucket": "b", "key": "k"}}]},
        "outputs.artifacts[a]: an artifact in s3 (an outside location)",
    ),
    (
        "templates/2/retryStrategy",
        {"limit": 1, "expression": "lastRetry.status =~ 'Fail'"},
        "retryStrategy.expression \"lastRetry.status =~ 'Fail'\": unrecognized character: U+007E",
    ),
    (
        "templates/2/retryStrategy",
        {"limit": 1, "expression": "asInt(lastRetry.code) != 2"},
        "unknown name 'lastRetry.code' (it can use retries, lastRetry.exitCode",
    ),
    ("templates/2/volumes", [{"name": "v", "hostPath": {"path": "/"}}], "volume type hostPath"),
    (
        "templates/2/container/args",
        ["echo {{=sprig.genPrivateKey('rsa')}}"],
        "sprig.genPrivateKey()",
    ),
    ("templates/2/container/env", [{"name": "X", "valueFrom": {"secretKeyRef": {}}}], "valueFrom"),
    ("templateDefaults", {"sidecars": [{"name": "s"}]}, "sidecars[s]: image (no image) has no"),
    (
        "templates/2/memoize",
        {"key": "k", "maxAge": "7d", "cache": {"configMap": {"name": "c"}}},
        "invalid duration '7d'",
    ),
]


@pytest.mark.parametrize(
    "path, value, feature", REFUSED, ids=[r[0].split("/")[-1] for r in REFUSED]
)
def test_refused_before_anything_runs(run_local, tmp_path, path, value, feature):
    marker = tmp_path / "ran"
    with pytest.raises(UserError) as refused:
        run_local(marker_workflow(marker, **{path: value}))
    message = str(refused.value)
    assert feature in message
    assert "\n" not in message
    assert not marker.exists()
    assert not (tmp_path / "work" / "runs").exists()


MALFORMED = [
    ("templates", 3, "spec.templates: expected a list, not 3"),
    ("templates/0/dag/tasks", {"a": 1}, "dag.tasks: expected a list, not a mapping"),
    ("templates/1/container/command", "touch", "container.command: expected a list"),
    ("templates/1/inputs", {"parameters": [{"value": 1}]}, "inputs.parameters[0]: needs a name"),
    ("templates/0/dag/tasks/1/when", True, "task second: when must be a string"),
    ("arguments", {"parameters": [{"name": "p", "valueFrom": {}}]}, "'valueFrom'"),
    ("parallelism", -1, "spec.parallelism: give a whole number, not -1"),
    ("volumes", [{"name": "v", "hostPath": {"path": "/"}}], "volume type hostPath"),
    (
        "templates/1/container/volumeMounts",
        [{"name": "data", "mountPath": "/mnt"}],
        "volumeMounts[data]: no volume of that name",
    ),
    ("templates/1/suspend", {"duration": "soon"}, "suspend.duration: invalid duration"),
]


@pytest.mark.parametrize(
    "path, value, problem", MALFORMED, ids=[r[0].replace("/", ".") for r in MALFORMED]
)
def test_malformed_workflow_is_one_line_not_a_traceback(run_local, tmp_path, path, value, problem):
    marker = tmp_path / "ran"
    wf = marker_workflow(marker, **{path: value})
    if path.endswith("suspend"):
        del wf["spec"]["templates"][1]["container"]
    with pytest.raises(UserError) as refused:
        run_local(wf)
    assert problem in str(refused.value)
    assert not marker.exists()


def test_other_template_types_are_named(run_local):
    wf = workflow({"name": "main", "plugin": {"hello": {}}})
    with pytest.raises(
        UserError, match="template main: 'plugin' is not supported by the local runner"
    ):
        run_local(wf)


def test_structural_mistakes(run_local):
    cases = [
        (workflow(dag("main", task("a", "missing"))), "task a: no template named 'missing'"),
        (
            workflow(
                dag("main", task("a", "ok", depends="b"), task("b", "ok", depends="a")),
                sh("ok", "true"),
            ),
            "dependency cycle",
        ),
        (
            workflow(dag("main", task("a", "ok", depends="ghost")), sh("ok", "true")),
            "depends on 'ghost', which is not a task",
        ),
        (
            workflow(
                dag("main", task("a", "need")),
                sh("need", "true", inputs={"parameters": [{"name": "x"}]}),
            ),
            "inputs.parameters.x of template need was not supplied",
        ),
        (
            workflow(sh("main", "true"), entrypoint="nope"),
            "spec.entrypoint: no template named 'nope'",
        ),
    ]
    for wf, expected in cases:
        with pytest.raises(UserError, match=expected):
            run_local(wf)


def test_parameters_are_checked(run_local):
    wf = workflow(
        sh("main", "echo {{workflow.parameters.p}}"), arguments={"parameters": [{"name": "p"}]}
    )
    with pytest.raises(UserError, match="parameter p has no value; pass -p p=VALUE"):
        run_local(wf)
    with pytest.raises(UserError, match="unknown parameter 'q'"):
        run_local(wf, parameters={"p": "1", "q": "2"})
    assert run_local(wf, parameters={"p": "given"}).nodes[0].outputs.result == "given"
