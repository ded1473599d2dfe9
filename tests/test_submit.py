"""Submitting and watching, against servers on loopback.

The Argo Server path runs against Prism holding every request and answer to Argo's published
OpenAPI (see tests/argo_server/mock.py for how, and why as a validation proxy in front of a
scripted upstream). A request that breaks the contract never reaches the upstream: Prism itself
answers 422, or 401 when the spec's BearerToken is missing. The spec declares no 401/403/409
(only 200 and a gRPC-gateway error as "default"), so a rejected token, a forbidden namespace, a
taken name and Argo's own validation errors are the upstream's answers to requests Prism passed,
and Prism checks those error bodies against the spec too. The Kubernetes path, with no API server
here, runs against a recording loopback server. Every user or environment mistake must come out
as one ``error:`` line with nothing sent.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from argo_server.mock import PRISM, SPEC_FILE, Raw, Recorded, Recorder, free_port, prism_proxy
from hera.workflows import DAG, Container, Workflow
from hera.workflows import models as m
from hera.workflows.service import WorkflowsService
from repo_workflows import child_environment

from mlflows import schema, submit
from mlflows.cli import run_cli
from mlflows.library import TemplateLibrary
from mlflows.rendering import render
from mlflows.schedule import cron_workflow
from mlflows.watch import NeverStarted, follow

REPO = Path(__file__).resolve().parent.parent
TOKEN = "s3cret-token-value"
CREATED = "2026-01-02T03:04:05Z"


def hera_manifest(argo_version: str = "4.1") -> dict:
    """A small memoized workflow built with Hera, rendered for ``argo_version`` (v3.7 wants
    ``memoize.cache.configMap.key``, which Hera's v4 models lack)."""
    memo = m.Memoize(
        key="{{inputs.parameters.n}}",
        max_age="1h",
        cache=m.Cache(config_map=m.LocalObjectReference(name="memo")),
    )
    with Workflow(generate_name="submit-test-", entrypoint="main") as workflow:
        step = Container(
            name="step",
            image="python:3.11",
            command=["python", "-c", "print(1)"],
            inputs=[m.Parameter(name="n")],
            memoize=memo,
        )
        with DAG(name="main"):
            step(arguments={"n": "3"})
    return render(workflow, argo_version)


def stored_template(name: str, namespace: str) -> dict:
    """A WorkflowTemplate as the server answers a GET for it: only that it is there matters."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": CREATED},
        "spec": {},
    }


def created_workflow(workflow: dict, namespace: str) -> dict:
    """What the server answers to a create: the workflow, named and stamped."""
    created = copy.deepcopy(workflow)
    metadata = created["metadata"]
    metadata.setdefault("name", metadata.get("generateName", "wf-") + "x7k2p")
    metadata.update(
        namespace=namespace, uid="0c5c6a4e-1f0e-4b6b-9d55-3f1b0c2b7a11", creationTimestamp=CREATED
    )
    return created


def argo_create(request: Recorded) -> tuple[int, object]:
    """What the Argo Server answers: a created Workflow or CronWorkflow; nothing else exists."""
    if request.method == "POST":
        created = request.body.get("workflow") or request.body.get("cronWorkflow")
        return 200, created_workflow(created, request.body["namespace"])
    return 404, {"code": 5, "message": "not found"}


def kube_create(request: Recorded) -> tuple[int, object]:
    """What the Kubernetes API server answers: a created object; nothing else exists."""
    if request.method == "POST":
        return 201, created_workflow(request.body, request.path.split("/")[5])
    return 404, {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": "not found",
        "code": 404,
    }


def with_status(
    workflow: dict, phase: str, nodes: dict[str, tuple[str, str | None]], message: str = ""
) -> dict:
    """``workflow`` with a status: ``nodes`` maps display name to (phase, startedAt)."""
    status = {
        "phase": phase,
        "nodes": {
            f"node-{name}": {
                "id": f"node-{name}",
                "name": name,
                "displayName": name,
                "type": "Pod",
                "phase": node_phase,
            }
            | ({"startedAt": started} if started else {})
            for name, (node_phase, started) in nodes.items()
        },
    }
    if message:
        status["message"] = message
    return {**workflow, "status": status}


def run_submit(capsys, manifest: dict, *options: str) -> tuple[int, str, str]:
    """``--submit`` with ``options`` as a flow would run it: exit code, stdout, stderr."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--namespace")  # the flow's own option
    submit.add_arguments(parser)
    args = parser.parse_args(["--submit", "--poll-interval", "0", *options])
    code = run_cli(lambda: submit.submit_from_args(manifest, args))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in (
        "ARGO_SERVER",
        "ARGO_TOKEN",
        "ARGO_NAMESPACE",
        "ARGO_INSECURE_SKIP_VERIFY",
        "ARGO_SECURE",
        "KUBERNETES_SERVICE_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))


@pytest.fixture
def recorder():
    """A plain recording Argo Server stand-in (no contract check): for what happens before,
    or below, the API."""
    server = Recorder(argo_create)
    yield server
    server.close()


# --- against Argo's published API (Prism) ---------------------------------------------------


@pytest.fixture(scope="module")
def argo_api(tmp_path_factory):
    """Prism on loopback holding requests and answers to the published Argo Server API."""
    schemas = os.environ.get("MLFLOWS_SCHEMA_DIR")
    if not schemas:
        pytest.skip(
            f"MLFLOWS_SCHEMA_DIR is not set: no {SPEC_FILE}, so the submit tests against "
            "Argo's published API are skipped"
        )
    if not PRISM.exists():
        pytest.skip(
            f"Prism is not installed ({PRISM} missing): run npm ci --prefix tests/argo_server"
        )
    upstream = Recorder(argo_create)
    with prism_proxy(Path(schemas), upstream.url, tmp_path_factory.mktemp("prism")) as url:
        warm_up(url, upstream)
        yield url, upstream
    upstream.close()


def warm_up(url: str, upstream: Recorder) -> None:
    """Prism compiles an operation's schemas on its first request: 10 s or more for Argo's
    Workflow, several times that on a busy machine. Done once here, with time to spare, so that
    the tests' own requests meet mlflows' timeouts."""
    created = created_workflow(hera_manifest(), "argo")
    cron = cron_workflow(hera_manifest(), "@daily")
    template = stored_template(TemplateLibrary().name("train"), "argo")
    upstream.answer(200, created)
    upstream.answer(200, with_status(created, "Running", {}))
    upstream.answer(200, created_workflow(cron, "argo"))
    upstream.answer(200, template)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"namespace": "argo", "workflow": hera_manifest()}
    for response in (
        requests.post(f"{url}/api/v1/workflows/argo", json=body, headers=headers, timeout=300),
        requests.get(
            f"{url}/api/v1/workflows/argo/{created['metadata']['name']}",
            headers=headers,
            timeout=300,
        ),
        requests.post(
            f"{url}/api/v1/cron-workflows/argo",
            json={"namespace": "argo", "cronWorkflow": cron},
            headers=headers,
            timeout=300,
        ),
        requests.get(
            f"{url}/api/v1/workflow-templates/argo/{template['metadata']['name']}",
            headers=headers,
            timeout=300,
        ),
    ):
        assert response.status_code == 200, response.text
    response = requests.get(
        f"{url}/api/v1/cluster-workflow-templates/none", headers=headers, timeout=300
    )
    assert response.status_code == 404, response.text
    upstream.reset()


@pytest.fixture
def argo(argo_api):
    url, upstream = argo_api
    upstream.reset()
    return url, upstream


@pytest.mark.parametrize("argo_version", ["4.1", "3.7"])
def test_submit_sends_the_rendered_manifest_unchanged(argo, capsys, argo_version):
    url, upstream = argo
    manifest = hera_manifest(argo_version)
    sent = copy.deepcopy(manifest)
    code, out, err = run_submit(
        capsys, manifest, "--argo-server", url, "--argo-token", TOKEN, "--namespace", "team-a"
    )
    assert (code, err) == (0, "")
    assert out == "submit-test-x7k2p\n"
    [request] = upstream.requests
    assert (request.method, request.path) == ("POST", "/api/v1/workflows/team-a")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.body == {"namespace": "team-a", "workflow": sent}
    if argo_version == "3.7":  # what Hera's own create_workflow would have dropped
        [memoize] = [
            t["memoize"] for t in request.body["workflow"]["spec"]["templates"] if "memoize" in t
        ]
        assert memoize["cache"]["configMap"] == {"name": "memo", "key": "{{inputs.parameters.n}}"}
    if schema.schema_dir():
        assert schema.validate_workflow(request.body["workflow"], argo_version) == []


def test_no_token_is_refused_by_the_published_contract(argo, capsys):
    url, upstream = argo
    code, out, err = run_submit(capsys, hera_manifest(), "--argo-server", url)
    line = one_error_line(err)
    assert code != 0 and out == ""
    assert "401" in line and "needs a token: set ARGO_TOKEN or pass --argo-token" in line
    assert upstream.requests == []


def test_request_breaking_the_contract_never_reaches_the_server(argo, capsys):
    url, upstream = argo
    manifest = hera_manifest()
    manifest["spec"]["parallelism"] = "two"  # the API has an integer here
    code, _, err = run_submit(capsys, manifest, "--argo-server", url, "--argo-token", TOKEN)
    line = one_error_line(err)
    assert code != 0
    assert f"the Argo server at {url}/ rejected the workflow (422 Unprocessable Entity)" in line
    assert upstream.requests == []


FORBIDDEN = 'workflows.argoproj.io is forbidden: User "ci" cannot create resource "workflows"'
INVALID = "templates.step: failed to resolve {{inputs.parameters.m}}"
TAKEN = "a workflow named nightly already exists in namespace {namespace} (409 Conflict): "
TAKEN += "use metadata.generateName, or choose a new name"


@pytest.mark.parametrize(
    "status, server_message, expected",
    [
        (401, "token not valid", "{server} refused the credentials (401 Unauthorized): "
         "check ARGO_TOKEN or --argo-token"),
        (403, FORBIDDEN, "{server} does not allow these credentials to create workflows in "
         f"namespace argo (403 Forbidden): {FORBIDDEN}"),
        (409, 'workflows.argoproj.io "nightly" already exists', TAKEN),
        (400, INVALID, f"{{server}} rejected the workflow (400 Bad Request): {INVALID}"),
    ],
)  # fmt: skip
def test_server_refusal_is_one_line(argo, capsys, status, server_message, expected):
    url, upstream = argo
    manifest = hera_manifest()
    manifest["metadata"] = {"name": "nightly"}
    upstream.answer(status, {"code": 16, "message": server_message})
    code, out, err = run_submit(capsys, manifest, "--argo-server", url, "--argo-token", TOKEN)
    expected = expected.replace("{server}", f"the Argo server at {url}/")
    assert one_error_line(err) == "error: " + expected.replace("{namespace}", "argo")
    assert code != 0 and out == ""
    assert TOKEN not in err
    assert len(upstream.requests) == 1


# --- the template library and CronWorkflows ---------------------------------------------------

LIBRARY_NAMES = sorted(TemplateLibrary().name(block) for block in (
    "ingest", "train", "evaluate", "promote", "serve", "select", "predict"))  # fmt: skip


def calling_the_library(e2e, namespace: str, cluster: bool = False) -> dict:
    """The static shape, which calls the seven blocks of LIBRARY_NAMES (the loop calls five)."""
    library = TemplateLibrary(cluster_scope=cluster)
    return render(e2e.build_workflow(namespace=namespace, library=library, loop=False))


@pytest.mark.parametrize("scope", ["namespace", "cluster"])
def test_missing_templates_are_one_warning_line_and_the_workflow_still_goes(
    argo, capsys, e2e, scope
):
    url, upstream = argo
    cluster = scope == "cluster"
    manifest = calling_the_library(e2e, "team-a", cluster)
    code, out, err = run_submit(capsys, manifest, "--argo-server", url, "--argo-token", TOKEN)

    kind, where, command = (
        ("ClusterWorkflowTemplates", "", "mlflows templates --cluster")
        if cluster
        else ("WorkflowTemplates", " in namespace team-a", "mlflows templates --namespace team-a")
    )
    assert err == (
        f"warning: {kind} {', '.join(LIBRARY_NAMES[:3])} and 4 more not found{where}, which the "
        f"workflow calls; create them first (mlflows' own: {command} | kubectl apply -f -)\n"
    )
    assert (code, out) == (0, "e2e-x7k2p\n")
    path = (
        "/api/v1/cluster-workflow-templates/" if cluster else "/api/v1/workflow-templates/team-a/"
    )
    assert [(r.method, r.path) for r in upstream.requests] == [
        *(("GET", path + name) for name in LIBRARY_NAMES),
        ("POST", "/api/v1/workflows/team-a"),
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in upstream.requests)


@pytest.mark.parametrize("missing", [(), ("ingest", "train")], ids=["none", "two"])
def test_only_the_templates_the_server_lacks_are_named(argo, capsys, e2e, missing):
    url, upstream = argo
    for name in LIBRARY_NAMES:  # the server's answers, in the order they are asked for
        if name.split("-")[1] in missing:
            upstream.answer(404, {"code": 5, "message": f"{name} not found"})
        else:
            upstream.answer(200, stored_template(name, "team-a"))
    manifest = calling_the_library(e2e, "team-a")
    code, out, err = run_submit(capsys, manifest, "--argo-server", url, "--argo-token", TOKEN)
    assert (code, out) == (0, "e2e-x7k2p\n")
    if not missing:
        assert err == ""
    else:
        assert err.startswith(
            "warning: WorkflowTemplates mlflows-ingest-v0-1-0, mlflows-train-v0-1-0 not found in "
            "namespace team-a, which the workflow calls;"
        )
        assert err.count("\n") == 1


@pytest.mark.parametrize("workflow", ["e2e calling the library", "memoized, for v3.7"])
def test_a_cron_workflow_is_created_through_the_cron_api(argo, capsys, e2e, workflow):
    """(The inline e2e pipeline is not sent through Prism: the published API has an
    IntOrString, such as a retryStrategy's limit, as a string only, where Argo's server takes the
    number rendered too.)"""
    url, upstream = argo
    if workflow == "memoized, for v3.7":
        argo_version, name, calls = "3.7", "submit-test", []
        rendered = hera_manifest(argo_version)
    else:
        argo_version, name, calls = "4.1", "e2e", LIBRARY_NAMES
        rendered = calling_the_library(e2e, "team-a")
    for called in calls:
        upstream.answer(200, stored_template(called, "team-a"))
    manifest = cron_workflow(rendered, "0 3 * * 1", "Europe/Berlin")
    sent = copy.deepcopy(manifest)
    code, out, err = run_submit(
        capsys, manifest, "--argo-server", url, "--argo-token", TOKEN, "--namespace", "team-a"
    )
    assert (code, out, err) == (0, f"{name}\n", "")
    request = upstream.requests[-1]
    assert len(upstream.requests) == len(calls) + 1
    assert (request.method, request.path) == ("POST", "/api/v1/cron-workflows/team-a")
    assert request.body == {"namespace": "team-a", "cronWorkflow": sent}
    if schema.schema_dir():
        assert schema.validate_workflow(request.body["cronWorkflow"], argo_version) == []


def test_a_cron_workflow_of_that_name_already_there_is_one_line(argo, capsys):
    url, upstream = argo
    manifest = cron_workflow(hera_manifest(), "@daily")
    message = 'cronworkflows.argoproj.io "submit-test" already exists'
    upstream.answer(409, {"code": 6, "message": message})
    code, out, err = run_submit(
        capsys, manifest, "--argo-server", url, "--argo-token", TOKEN, "--namespace", "team-a"
    )
    assert one_error_line(err) == (
        "error: a CronWorkflow named submit-test already exists in namespace team-a "
        "(409 Conflict): delete it first (argo cron delete submit-test) to replace its schedule"
    )
    assert code != 0 and out == ""


def test_wait_for_a_cron_workflow_is_refused_before_any_request(recorder, capsys, e2e):
    manifest = cron_workflow(render(e2e.build_workflow()), "@daily")
    code, out, err = run_submit(
        capsys, manifest, "--argo-server", recorder.url, "--argo-token", TOKEN, "--wait"
    )
    assert one_error_line(err).startswith(
        "error: --wait: a CronWorkflow starts its runs on its schedule, there is none to follow"
    )
    assert code == 2 and out == "" and recorder.requests == []


def test_called_templates_are_found_wherever_a_workflow_names_them():
    called = {"name": "lib", "template": "t"}
    manifest = {
        "kind": "CronWorkflow",
        "spec": {
            "workflowSpec": {
                "workflowTemplateRef": {"name": "base"},
                "hooks": {"exit": {"templateRef": {**called, "name": "hooks"}}},
                "templates": [
                    {"name": "a", "steps": [[{"name": "s", "templateRef": called}]]},
                    {
                        "name": "b",
                        "dag": {
                            "tasks": [
                                {"name": "t", "templateRef": {**called, "clusterScope": True}},
                                {"name": "u", "templateRef": called},
                            ]
                        },
                    },  # fmt: skip
                    {"name": "c", "resource": {"manifest": "templateRef: {name: text}\n"}},
                ],
            }
        },
    }
    assert submit.called_templates(manifest) == [
        submit.TemplateName("base", False),
        submit.TemplateName("hooks", False),
        submit.TemplateName("lib", False),
        submit.TemplateName("lib", True),
    ]


def test_wait_prints_each_phase_change_and_fails_with_the_workflow(argo, capsys):
    url, upstream = argo
    manifest = hera_manifest()
    created = created_workflow(manifest, "argo")
    root = created["metadata"]["name"]
    started = {
        root: "2026-01-02T03:04:06Z",
        "a": "2026-01-02T03:04:07Z",
        "b": "2026-01-02T03:04:09Z",
    }
    polls = [
        ("Running", {root: "Running"}, ""),
        ("Running", {root: "Running", "a": "Running", "b": "Pending"}, ""),
        ("Running", {root: "Running", "a": "Succeeded", "b": "Running"}, ""),
        ("Running", {root: "Running", "a": "Succeeded", "b": "Running"}, ""),
        ("Failed", {root: "Failed", "a": "Succeeded", "b": "Failed"}, "child 'b' failed"),
    ]
    upstream.answer(200, created)
    for phase, phases, message in polls:
        nodes = {
            name: (node_phase, None if node_phase == "Pending" else started[name])
            for name, node_phase in phases.items()
        }
        upstream.answer(200, with_status(created, phase, nodes, message))

    code, out, err = run_submit(
        capsys, manifest, "--argo-server", url, "--argo-token", TOKEN, "--wait"
    )
    assert err == ""
    assert out.splitlines() == [
        root,
        f"{root}  Running",
        "a  Running",
        "b  Pending",
        "a  Succeeded",
        "b  Running",
        f"{root}  Failed",
        "b  Failed",
        f"workflow {root} Failed: child 'b' failed",
    ]
    assert code == 1
    gets = upstream.requests[1:]
    assert [(r.method, r.path) for r in gets] == [("GET", f"/api/v1/workflows/argo/{root}")] * 5


def test_wait_ends_with_success(argo, capsys):
    url, upstream = argo
    manifest = hera_manifest()
    created = created_workflow(manifest, "argo")
    root = created["metadata"]["name"]
    upstream.answer(200, created)
    upstream.answer(200, with_status(created, "Succeeded", {root: ("Succeeded", CREATED)}))
    code, out, _ = run_submit(
        capsys, manifest, "--argo-server", url, "--argo-token", TOKEN, "--wait"
    )
    assert code == 0
    assert out.splitlines() == [root, f"{root}  Succeeded", f"workflow {root} Succeeded"]


def test_wait_gives_up_on_a_workflow_no_controller_takes_up(argo, capsys):
    url, upstream = argo
    manifest = hera_manifest()
    created = created_workflow(manifest, "argo")
    upstream.answer(200, created)
    upstream.answer(200, created)  # no status: no controller has seen it
    code, out, err = run_submit(
        capsys, manifest, "--argo-server", url, "--argo-token", TOKEN, "--wait",
        "--start-timeout", "0",
    )  # fmt: skip
    name = created["metadata"]["name"]
    assert one_error_line(err) == (
        f"error: workflow {name} has no phase 0 s after it was created: no workflow controller "
        "has taken it up; check that Argo's controller is running and watches namespace argo, "
        "or give it longer with --start-timeout"
    )
    assert code != 0 and out == f"{name}\n"
    assert [r.method for r in upstream.requests] == ["POST", "GET"]


class FakeClock:
    """Time that passes only when slept: the deadline is tested without waiting for it."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_follow_waits_for_a_first_phase_until_the_start_timeout_only():
    clock = FakeClock()
    polls: list[dict] = []

    def never_taken_up() -> dict:
        polls.append({})
        return {"metadata": {"name": "w"}}

    with pytest.raises(NeverStarted):
        follow(
            never_taken_up, interval=5, start_timeout=12, sleep=clock.sleep, clock=lambda: clock.now
        )
    assert clock.slept == [5, 5, 2] and len(polls) == 4

    # Once it has a phase, it may run far longer than the start timeout.
    clock = FakeClock()
    phases = iter([None, "Pending", *["Running"] * 10, "Succeeded"])

    def taken_up_late() -> dict:
        return {"status": {"phase": next(phases)}}

    final = follow(
        taken_up_late, interval=5, start_timeout=6, sleep=clock.sleep, clock=lambda: clock.now
    )
    assert final["status"]["phase"] == "Succeeded"
    assert clock.now == 5 * 12


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Hera's service calls pydantic's .json()
def test_why_not_hera_create_workflow_it_drops_what_its_v4_models_lack(recorder):
    """What Hera's own WorkflowsService.create_workflow sends for a v3.7 rendering: the memo
    cache key is gone, so mlflows.submit makes that request itself with the dict."""
    manifest = hera_manifest("3.7")
    request = m.WorkflowCreateRequest(namespace="argo", workflow=m.Workflow(**manifest))
    WorkflowsService(host=recorder.url, token=TOKEN).create_workflow(request, "argo")
    [sent] = recorder.requests
    [memoize] = [t["memoize"] for t in sent.body["workflow"]["spec"]["templates"] if "memoize" in t]
    assert memoize["cache"]["configMap"] == {"name": "memo"}  # "key" dropped
    submit.submit(manifest, server=recorder.url, token=TOKEN)
    assert recorder.requests[1].body["workflow"] == manifest


# --- before any request, and below the API --------------------------------------------------


def test_argo_server_unset_names_the_variable_and_the_flag(capsys):
    code, out, err = run_submit(capsys, hera_manifest())
    line = one_error_line(err)
    assert code != 0 and out == ""
    assert "ARGO_SERVER is not set" in line and "--argo-server" in line


@pytest.mark.parametrize(
    "options, environment, declared, field",
    [
        (["--namespace", "ML_Team"], {}, None, "'ML_Team' is not a valid Kubernetes name"),
        ([], {"ARGO_NAMESPACE": "team a"}, None, "'team a' is not a valid Kubernetes name"),
        (["--namespace", "team-b"], {}, "team-a", "'team-b' was asked for but the workflow's"),
    ],
)  # fmt: skip
def test_bad_namespace_is_refused_before_any_request(
    recorder, capsys, monkeypatch, options, environment, declared, field
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    manifest = hera_manifest()
    if declared:
        manifest["metadata"]["namespace"] = declared
    code, out, err = run_submit(capsys, manifest, "--argo-server", recorder.url, *options)
    assert one_error_line(err).startswith(f"error: namespace: {field}")
    assert code != 0 and out == ""
    assert recorder.requests == []


@pytest.mark.parametrize("option", ["--poll-interval", "--start-timeout"])
@pytest.mark.parametrize("seconds", ["-1", "nan", "inf"])
def test_bad_wait_seconds_are_refused_before_any_request(recorder, capsys, option, seconds):
    options = ("--argo-server", recorder.url, "--wait", option, seconds)
    code, out, err = run_submit(capsys, hera_manifest(), *options)
    assert one_error_line(err).startswith(f"error: {option}: give a number of seconds")
    assert code != 0 and out == ""
    assert recorder.requests == []


@pytest.mark.parametrize("field", ["name", "generateName"])
def test_a_name_that_is_not_text_is_refused_before_any_request(recorder, capsys, field):
    manifest = hera_manifest()
    manifest["metadata"] = {field: 5}
    code, out, err = run_submit(capsys, manifest, "--argo-server", recorder.url)
    assert one_error_line(err) == f"error: metadata.{field}: give a string, not 5"
    assert code != 0 and out == ""
    assert recorder.requests == []


@pytest.mark.parametrize(
    "token, option, what",
    [
        (TOKEN + "\n", None, "a line break"),
        (f"Bearer {TOKEN}\r\nX-Injected: 1", "--argo-token", "a line break"),
        (TOKEN + "\t", None, "a control character"),
        (TOKEN + "\u2019", "--argo-token", "a character that is not ASCII"),
    ],
)
def test_malformed_token_is_named_and_nothing_sent(
    recorder, capsys, monkeypatch, token, option, what
):
    if option:
        options = (option, token)
    else:
        monkeypatch.setenv("ARGO_TOKEN", token)
        options = ()
    code, out, err = run_submit(capsys, hera_manifest(), "--argo-server", recorder.url, *options)
    source = option or "ARGO_TOKEN"
    assert one_error_line(err) == (
        f"error: {source} is malformed: it holds {what}; give the token alone, on one line"
    )
    assert TOKEN not in err
    assert code != 0 and out == ""
    assert recorder.requests == []


ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><style>body { font-family: sans-serif; }</style>\n"
    "<title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1>\n"
    + "<p>The upstream server did not answer in time.</p>\n" * 100
    + "</body></html>\n"
)


@pytest.mark.parametrize(
    "body, shown",
    [
        (Raw(ERROR_PAGE.encode()), "502 Bad Gateway"),
        (Raw(ERROR_PAGE.replace("<title>502 Bad Gateway</title>", "").encode()), "Bad Gateway"),
        (Raw(b"\n\nupstream connect error " + b"x" * 5000, "text/plain"), None),
        ({"code": 13, "message": "y" * 5000}, None),
    ],
    ids=["html", "html without title", "long text", "long JSON message"],
)
def test_an_error_page_is_cut_to_one_short_line(recorder, capsys, body, shown):
    """What a proxy in front of the Argo server answers (so not held to Argo's API: no Prism)."""
    recorder.answer(500, body)
    code, out, err = run_submit(capsys, hera_manifest(), "--argo-server", recorder.url)
    line = one_error_line(err)
    prefix = (
        f"error: the Argo server at {recorder.url}/ answered 500 Internal Server Error when asked "
        "to create workflows in namespace argo: "
    )
    assert line.startswith(prefix)
    said = line.removeprefix(prefix)
    if shown:
        assert said == shown
    else:
        assert len(said) == submit.MESSAGE_LIMIT and said.endswith("...")
    assert code != 0 and out == ""


def test_a_redirect_to_another_host_is_refused_with_nothing_sent_there(recorder, capsys):
    elsewhere = Recorder(argo_create)
    try:
        location = f"{elsewhere.url}/api/v1/workflows/argo"
        recorder.answer(307, Raw(b"", headers=(("Location", location),)))
        code, out, err = run_submit(
            capsys, hera_manifest(), "--argo-server", recorder.url, "--argo-token", TOKEN
        )
        assert one_error_line(err) == (
            f"error: the Argo server at {recorder.url}/ redirected to {elsewhere.url} "
            "(307 Temporary Redirect); the workflow and the token are not sent to another host: "
            "if that is the Argo server, set ARGO_SERVER to it"
        )
        assert code != 0 and out == ""
        assert elsewhere.requests == []
    finally:
        elsewhere.close()


def test_a_redirect_on_the_same_server_is_followed(recorder, capsys):
    recorder.answer(307, Raw(b"", headers=(("Location", "/argo/api/v1/workflows/argo"),)))
    manifest = hera_manifest()
    code, out, _ = run_submit(
        capsys, manifest, "--argo-server", recorder.url, "--argo-token", TOKEN
    )
    assert (code, out) == (0, "submit-test-x7k2p\n")
    first, second = recorder.requests
    assert second.path == "/argo/api/v1/workflows/argo"
    assert second.body == first.body == {"namespace": "argo", "workflow": manifest}
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "flag, declared, environment, expected",
    [
        ("team-a", None, "team-c", "team-a"),
        ("team-a", "team-a", "team-c", "team-a"),
        (None, "team-b", "team-c", "team-b"),
        (None, None, "team-c", "team-c"),
        (None, None, None, "argo"),
    ],
)
def test_namespace_precedence(recorder, monkeypatch, flag, declared, environment, expected):
    if environment:
        monkeypatch.setenv("ARGO_NAMESPACE", environment)
    manifest = hera_manifest()
    if declared:
        manifest["metadata"]["namespace"] = declared
    name = submit.submit(manifest, server=recorder.url, token=TOKEN, namespace=flag)
    assert name == "submit-test-x7k2p"
    [request] = recorder.requests
    assert request.path == f"/api/v1/workflows/{expected}"
    assert request.body["namespace"] == expected


def test_an_answer_that_is_not_a_workflow_is_one_line(recorder, capsys):
    recorder.answer(200, ["some", "other", "service"])
    code, out, err = run_submit(capsys, hera_manifest(), "--argo-server", recorder.url)
    assert one_error_line(err) == (
        f"error: the Argo server at {recorder.url}/ answered with something that is not a JSON "
        "object"
    )
    assert code != 0 and out == ""


def test_unreachable_argo_server_names_the_url(capsys):
    closed = f"http://127.0.0.1:{free_port()}"
    code, out, err = run_submit(capsys, hera_manifest(), "--argo-server", closed)
    assert (
        one_error_line(err)
        == f"error: cannot reach the Argo server at {closed}/: Connection refused"
    )
    assert code != 0 and out == ""


def test_silent_argo_server_times_out(capsys, monkeypatch):
    monkeypatch.setattr(submit, "REQUEST_TIMEOUT", (2.0, 0.3))
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        code, _, err = run_submit(
            capsys, hera_manifest(), "--argo-server", url, "--argo-token", TOKEN
        )
    assert one_error_line(err) == f"error: cannot reach the Argo server at {url}/: timed out"
    assert code != 0


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
    except FileNotFoundError:
        pytest.skip("openssl is not installed: no self-signed certificate for the TLS tests")
    return cert, key


@pytest.mark.filterwarnings("error::urllib3.exceptions.InsecureRequestWarning")
def test_tls_is_verified_unless_skipping_is_chosen(self_signed, capsys, monkeypatch):
    server = Recorder(argo_create, tls=self_signed)
    try:
        code, _, err = run_submit(capsys, hera_manifest(), "--argo-server", server.url)
        line = one_error_line(err)
        assert code != 0
        assert line.startswith(
            f"error: cannot verify the TLS certificate of the Argo server at {server.url}/"
        )
        assert "only if you trust it, pass --insecure-skip-tls-verify" in line
        assert server.requests == []

        code, out, _ = run_submit(
            capsys, hera_manifest(), "--argo-server", server.url, "--insecure-skip-tls-verify"
        )
        assert (code, out) == (0, "submit-test-x7k2p\n")
        monkeypatch.setenv("ARGO_INSECURE_SKIP_VERIFY", "true")
        code, out, _ = run_submit(capsys, hera_manifest(), "--argo-server", server.url)
        assert (code, out) == (0, "submit-test-x7k2p\n")
        assert len(server.requests) == 2
    finally:
        server.close()


@pytest.mark.parametrize(
    "given, secure, url",
    [
        ("localhost:2746", None, "https://localhost:2746/"),
        ("localhost:2746", "false", "http://localhost:2746/"),
        ("http://argo.example:2746/argo", None, "http://argo.example:2746/argo/"),
    ],
)
def test_argo_server_address_as_the_argo_cli_takes_it(monkeypatch, given, secure, url):
    if secure:
        monkeypatch.setenv("ARGO_SECURE", secure)
    assert submit.argo_server_url(given) == url


@pytest.mark.parametrize(
    "given, problem",
    [
        ("ftp://argo.example", "is not an http:// or https:// URL"),
        ("http://[::1", "is not a valid URL: Invalid IPv6 URL"),
        ("localhost:notaport", "is not a valid URL: Port could not be cast to integer"),
        ("http://argo.example:99999", "is not a valid URL: Port out of range"),
    ],
)
def test_bad_argo_server_address_is_one_line(capsys, given, problem):
    code, out, err = run_submit(capsys, hera_manifest(), "--argo-server", given)
    assert one_error_line(err).startswith("error: argo server: ")
    assert problem in err
    assert code != 0 and out == ""


def test_e2e_submit_to_an_unreachable_server_is_one_line():
    closed = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "flows/e2e.py", "--submit"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env=child_environment(ARGO_SERVER=closed, ARGO_TOKEN=TOKEN),
    )  # fmt: skip
    assert result.returncode != 0
    assert (
        result.stderr == f"error: cannot reach the Argo server at {closed}/: Connection refused\n"
    )
    assert result.stdout == ""


# --- through the Kubernetes API -------------------------------------------------------------


def kubeconfig(path: Path, server: str, namespace: str | None = "team-k") -> Path:
    context = {"cluster": "test", "user": "test"} | ({"namespace": namespace} if namespace else {})
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "test", "cluster": {"server": server}}],
                "users": [{"name": "test", "user": {"token": "kube-secret"}}],
                "contexts": [{"name": "test", "context": context}],
                "current-context": "test",
            }
        )
    )
    return path


@pytest.fixture
def kube(tmp_path, monkeypatch):
    """A recording stand-in for the Kubernetes API server, and a kubeconfig pointing at it."""
    server = Recorder(kube_create)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "config", server.url)))
    yield server
    server.close()


def test_kube_creates_the_workflow_as_kubectl_does(kube, capsys):
    manifest = hera_manifest("3.7")
    sent = copy.deepcopy(manifest)
    code, out, err = run_submit(capsys, manifest, "--via", "kube")
    assert (code, out, err) == (0, "submit-test-x7k2p\n", "")
    [request] = kube.requests
    # No --namespace and none in the manifest: the kubeconfig context's namespace.
    assert request.method == "POST"
    assert request.path == "/apis/argoproj.io/v1alpha1/namespaces/team-k/workflows"
    assert request.headers["authorization"] == "Bearer kube-secret"
    assert request.body == sent
    if schema.schema_dir():
        assert schema.validate_workflow(request.body, "3.7") == []


@pytest.mark.parametrize(
    "status, reason, server_message, expected",
    [
        (401, "Unauthorized", "Unauthorized", "{server} refused the credentials "
         "(401 Unauthorized): check the user of the kubeconfig's current context"),
        (403, "Forbidden", FORBIDDEN, "{server} does not allow these credentials to create "
         f"workflows in namespace team-k (403 Forbidden): {FORBIDDEN}"),
        (409, "AlreadyExists", 'workflows.argoproj.io "nightly" already exists', TAKEN),
        (422, "Invalid", "spec.templates: Required value", "{server} rejected the workflow "
         "(422 Unprocessable Entity): spec.templates: Required value"),
    ],
)  # fmt: skip
def test_kube_refusal_is_one_line(kube, capsys, status, reason, server_message, expected):
    kube.answer(
        status,
        {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": server_message,
         "reason": reason, "code": status},
    )  # fmt: skip
    manifest = hera_manifest()
    manifest["metadata"] = {"name": "nightly"}
    code, out, err = run_submit(capsys, manifest, "--via", "kube")
    expected = expected.replace("{server}", f"the Kubernetes API server at {kube.url}")
    assert one_error_line(err) == "error: " + expected.replace("{namespace}", "team-k")
    assert code != 0 and out == ""
    assert "kube-secret" not in err


def test_kube_answer_that_is_not_a_workflow_is_one_line(kube, capsys):
    kube.answer(201, ["some", "other", "service"])
    code, out, err = run_submit(capsys, hera_manifest(), "--via", "kube")
    assert one_error_line(err) == (
        f"error: the Kubernetes API server at {kube.url} answered with something that is not "
        "a JSON object"
    )
    assert code != 0 and out == ""


def test_kube_unreachable_api_server_names_the_url(tmp_path, monkeypatch, capsys):
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "config", closed)))
    code, out, err = run_submit(capsys, hera_manifest(), "--via", "kube")
    assert (
        one_error_line(err)
        == f"error: cannot reach the Kubernetes API server at {closed}: Connection refused"
    )
    assert code != 0 and out == ""


@pytest.mark.parametrize(
    "broken", ["missing", "no current context", "not YAML", "a list", "a directory"]
)
def test_kube_without_a_usable_kubeconfig_is_one_line(tmp_path, monkeypatch, capsys, broken):
    path = tmp_path / "config"
    if broken == "no current context":
        kubeconfig(path, "http://127.0.0.1:1")
        path.write_text(
            path.read_text().replace('"current-context": "test"', '"current-context": "gone"')
        )
    elif broken == "not YAML":
        path.write_text("clusters: [")
    elif broken == "a list":
        path.write_text("- 1\n")
    elif broken == "a directory":
        path.mkdir()
    monkeypatch.setenv("KUBECONFIG", str(path))
    code, _, err = run_submit(capsys, hera_manifest(), "--via", "kube")
    line = one_error_line(err)
    assert line.startswith("error: --via kube: no usable kubeconfig (")
    assert "set KUBECONFIG or create ~/.kube/config" in line
    assert code != 0


def test_kube_watch_follows_to_the_end(kube):
    created = created_workflow(hera_manifest(), "team-k")
    name = created["metadata"]["name"]
    kube.answer(200, with_status(created, "Running", {"a": ("Running", CREATED)}))
    kube.answer(200, with_status(created, "Succeeded", {"a": ("Succeeded", CREATED)}))
    changes: list[tuple[str, str]] = []
    phase = submit.watch(
        name, "team-k", via="kube", interval=0, on_change=lambda *c: changes.append(c)
    )
    assert phase == "Succeeded"
    assert changes == [("a", "Running"), ("a", "Succeeded")]
    assert [r.path for r in kube.requests] == [
        f"/apis/argoproj.io/v1alpha1/namespaces/team-k/workflows/{name}"
    ] * 2


def test_kube_creates_the_cron_workflow_as_kubectl_does(kube, capsys, e2e):
    manifest = cron_workflow(render(e2e.build_workflow(namespace="team-k")), "0 3 * * 1")
    sent = copy.deepcopy(manifest)
    code, out, err = run_submit(capsys, manifest, "--via", "kube")
    assert (code, out, err) == (0, "e2e\n", "")
    [request] = kube.requests
    assert request.method == "POST"
    assert request.path == "/apis/argoproj.io/v1alpha1/namespaces/team-k/cronworkflows"
    assert request.body == sent


@pytest.mark.parametrize("scope", ["namespace", "cluster"])
def test_kube_warns_of_missing_templates(kube, capsys, e2e, scope):
    cluster = scope == "cluster"
    manifest = calling_the_library(e2e, "team-k", cluster)
    code, out, err = run_submit(capsys, manifest, "--via", "kube")
    assert (code, out) == (0, "e2e-x7k2p\n")
    assert err.startswith("warning: ") and err.count("\n") == 1 and "kube-secret" not in err
    path = (
        "/apis/argoproj.io/v1alpha1/clusterworkflowtemplates/"
        if cluster
        else "/apis/argoproj.io/v1alpha1/namespaces/team-k/workflowtemplates/"
    )
    assert [(r.method, r.path) for r in kube.requests] == [
        *(("GET", path + name) for name in LIBRARY_NAMES),
        ("POST", "/apis/argoproj.io/v1alpha1/namespaces/team-k/workflows"),
    ]
