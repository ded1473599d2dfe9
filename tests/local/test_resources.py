"""The local cluster: resource templates against real processes and the real model server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from resources_fixtures import (
    ISVC_FAILED,
    ISVC_READY,
    WORKER_FAILED,
    WORKERS_SUCCEEDED,
    config_map,
    inference_service,
    kube_fixture,  # noqa: F401  (provides the kube fixture)
    pod_processes,
    resource,
    tfjob,
    wait_until_gone,
)

from mlflows.errors import UserError
from mlflows.local.cluster import kserve
from mlflows.local.cluster.objects import KubectlError
from mlflows.local.lang.jsonpath import read_jsonpath

REPO = Path(__file__).resolve().parents[2]


# -- check: refused before anything runs ----------------------------------------------------------


def refusal(kube, template: dict, outputs: list[dict] | None = None) -> str:
    with pytest.raises(UserError) as raised:
        kube.cluster.check("step-x", template, outputs)
    message = str(raised.value)
    assert message.startswith("template step-x: ") and "\n" not in message
    return message


def named(api_version: str, kind: str, **metadata) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata or {"name": "x"}}


@pytest.mark.parametrize(
    ("api_version", "kind", "says"),
    [
        ("batch/v1", "Job", "batch/v1 Job cannot run locally: it needs Kubernetes' controllers"),
        ("v1", "Pod", "v1 Pod cannot run locally: pods need a kubelet"),
        ("apps/v1", "Deployment", "apps/v1 Deployment cannot run locally"),
        ("kubeflow.org/v1", "PyTorchJob", "only TFJob has a local training operator"),
        ("serving.kserve.io/v1alpha1", "TrainedModel", "only InferenceService and InferenceGraph"),
        ("argoproj.io/v1alpha1", "Workflow", "needs the Argo controller"),
        ("kubeflow.org/v2beta1", "TFJob", "the local runner runs kubeflow.org/v1"),
        ("serving.kserve.io/v1alpha1", "InferenceService", "runs serving.kserve.io/v1beta1"),
    ],
)
def test_check_refuses_kinds_nothing_here_would_run(kube, api_version, kind, says):
    assert says in refusal(kube, resource("create", named(api_version, kind)))


EXPRESSION_KIND = "apiVersion: v1\nkind: '{{inputs.parameters.kind}}'\nmetadata: {name: c}\n"
GJSON_QUERY = 'status.conditions.#(type=="Ready")'


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ({"action": "create", "manifestFrom": {"artifact": {"name": "m"}}}, "manifestFrom"),
        (resource("create", config_map("c"), flags=["--validate=false"]), "kubectl flags"),
        (resource("create", config_map("c"), setOwnerRefs=True), "resource.setOwnerRefs"),
        (resource("scale", config_map("c")), "resource.action 'scale'"),
        ({"action": "create", "manifest": "kind: [unclosed"}, "not valid YAML"),
        ({"action": "create", "manifest": "- a\n- b\n"}, "one YAML object"),
        ({"action": "create", "manifest": EXPRESSION_KIND}, "must be given literally"),
        (resource("create", config_map("c"), successCondition=GJSON_QUERY), "gjson query"),
        (resource("get", config_map("c"), failureCondition="data.x >"), "failureCondition"),
        (resource("delete", config_map("c"), successCondition="a"), "not supported for the delete"),
        (resource("get", named("v1", "ConfigMap", generateName="c-")), "name is required to get"),
        (resource("apply", named("v1", "ConfigMap", generateName="c-")), "works with create only"),
        (resource("create", named("v1", "ConfigMap", labels={})), "give metadata.name or"),
        (resource("create", {**config_map("c"), "metadata": ["c"]}), "metadata must be a mapping"),
        (resource("patch", tfjob(name="t")), "does not change a running TFJob"),
        (resource("patch", inference_service("pvc://c/m")), "mergeStrategy strategic"),
        (resource("patch", config_map("c"), mergeStrategy="json"), "mergeStrategy json"),
    ],
)
def test_check_refuses_template_fields_it_cannot_honour(kube, template, says):
    assert says in refusal(kube, template)


def edit_spec(**fields):
    return lambda spec: spec.update(fields)


def edit_worker(**fields):
    return lambda spec: spec["tfReplicaSpecs"]["Worker"].update(fields)


def edit_pod(**fields):
    return lambda spec: spec["tfReplicaSpecs"]["Worker"]["template"]["spec"].update(fields)


def edit_container(**fields):
    def edit(spec: dict) -> None:
        container = spec["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
        container.update(fields)
        for name in [name for name, value in container.items() if value is None]:
            del container[name]

    return edit


SECRET_ENV = [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda spec: spec["tfReplicaSpecs"].update(PS={}), "Worker and Chief replicas only"),
        (edit_worker(restartPolicy="Always"), "restartPolicy Always would restart replicas"),
        (edit_worker(restartPolicy="Sometimes"), "'Sometimes' is not one of Never"),
        (edit_worker(replicas=0), "replicas: 0 is not an integer ≥ 1"),
        (edit_container(name="main"), "exactly one container, named tensorflow"),
        (edit_pod(containers={"name": "tensorflow"}), "exactly one container, named tensorflow"),
        (edit_container(image=None), "needs an image"),
        (edit_container(command=None), "no command or args"),
        (edit_container(env=SECRET_ENV), "env K uses valueFrom"),
        (edit_container(command="python -m train"), "container command must be a list"),
        (edit_container(env=["SLEEP=1"]), "env must be a list of mappings (name: ...), got 'SL"),
        (edit_container(volumeMounts=["/mnt/data"]), "volumeMounts must be a list of mappings"),
        (edit_pod(volumes=[{"name": "data", "hostPath": {"path": "/x"}}]), "emptyDir volumes"),
        (edit_pod(initContainers=[{"name": "init"}]), "initContainers are not run"),
        (edit_spec(enableDynamicWorker=True), "enableDynamicWorker"),
        (edit_spec(runPolicy={"suspend": True}), "suspended job"),
        (edit_spec(runPolicy={"backoffLimit": -1}), "backoffLimit: -1"),
        (edit_spec(runPolicy={"cleanPodPolicy": "Some"}), "cleanPodPolicy: 'Some'"),
        (edit_spec(successPolicy="ChiefOnly"), "successPolicy 'ChiefOnly'"),
        (edit_spec(elasticPolicy={}), "spec.elasticPolicy is not supported"),
    ],
)
def test_check_refuses_tfjob_fields_it_cannot_run(kube, edit, says):
    manifest = tfjob()
    edit(manifest["spec"])
    assert says in refusal(kube, resource("create", manifest))


def isvc(predictor: dict | None = None, **spec) -> dict:
    manifest = inference_service("pvc://mlflows-data/serving")
    manifest["spec"]["predictor"].update(predictor or {})
    manifest["spec"].update(spec)
    return manifest


@pytest.mark.parametrize(
    ("manifest", "says"),
    [
        (isvc(transformer={"containers": []}), "spec.transformer: only the predictor runs"),
        (isvc(explainer={}), "spec.explainer: only the predictor runs"),
        (isvc({"containers": [{"name": "kserve-container"}]}), "a custom predictor container"),
        (isvc({"sklearn": {"storageUri": "pvc://c/m"}}), "serves TensorFlow SavedModels only"),
        (isvc({"model": {"modelFormat": {"name": "onnx"}, "storageUri": "pvc://c/m"}}), "onnx"),
        (isvc({"model": {"modelFormat": "tensorflow", "storageUri": "pvc://c/m"}}), "a mapping"),
        (isvc({"tensorflow": {"storageUri": "pvc://c/m"}}), "exactly one of model"),
        (isvc({"canaryTrafficPercent": 150}), "whole number from 0 to 100"),
        (inference_service("s3://bucket/model"), "pvc://<claim>/<path> only"),
    ],
)
def test_check_refuses_inference_service_fields_it_cannot_serve(kube, manifest, says):
    assert says in refusal(kube, resource("apply", manifest))


@pytest.mark.parametrize(
    ("value_from", "says"),
    [
        ({"jqFilter": ".metadata.name"}, "jqFilter is not evaluated"),
        ({"path": "/tmp/x"}, "read with valueFrom.jsonPath"),
        ({"jsonPath": ".metadata.name"}, "has no {...} expression"),
        ({"jsonPath": "{.status.conditions[?(@.type=='Ready')].status}"}, "filters, wildcards"),
        ({"jsonPath": "{.items[*].metadata.name}"}, "filters, wildcards"),
        ({"jsonPath": "{..name}"}, "filters, wildcards"),
        ({"jsonPath": "{range .items[*]}{.name}{end}"}, "filters, wildcards"),
    ],
)
def test_check_refuses_outputs_it_cannot_read(kube, value_from, says):
    outputs = [{"name": "out", "valueFrom": value_from}]
    message = refusal(kube, resource("get", config_map("c")), outputs)
    assert "outputs.parameters[out]" in message and says in message


def test_check_accepts_the_projects_own_resource_templates(kube):
    """Every resource template the repository renders, before {{...}} substitution."""
    templates = [
        template
        for path in (REPO / "flows" / "e2e.yaml", REPO / "examples" / "resource_configmap.yaml")
        for template in yaml.safe_load(path.read_text())["spec"]["templates"]
        if "resource" in template
    ]
    assert {t["resource"]["manifest"].split("kind: ")[1].split()[0] for t in templates} == {
        "TFJob", "InferenceService", "ConfigMap"
    }  # fmt: skip
    for template in templates:
        outputs = (template.get("outputs") or {}).get("parameters")
        kube.cluster.check(template["name"], template["resource"], outputs)


def test_check_takes_argo_expressions_as_any_value(kube):
    job = tfjob()
    container = job["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    container.update(command="{{inputs.parameters.command}}", env="{{inputs.parameters.env}}")
    manifest = yaml.safe_dump(job).replace("replicas: 2", "replicas: '{{inputs.parameters.n}}'")
    kube.cluster.check(
        "train",
        {
            "action": "create",
            "manifest": manifest,
            "successCondition": "status.replicaStatuses.Worker.succeeded = {{inputs.parameters.n}}",
            "failureCondition": "status.replicaStatuses.Worker.failed > {{inputs.parameters.f}}",
        },
    )


# -- plain objects --------------------------------------------------------------------------------


def test_config_map_create_get_apply_patch_delete(kube):
    created = kube.run(
        "create",
        config_map("settings", stage="training"),
        outputs={"uid": "{.metadata.uid}", "stage": "{.data.stage}", "missing": "{.data.nope}"},
    )
    assert created.phase == "Succeeded"
    assert created.outputs["stage"] == "training" and created.outputs["missing"] == ""
    assert len(created.outputs["uid"]) == 36

    again = kube.run("create", config_map("settings", stage="other"))
    assert again.phase == "Failed"
    assert (
        "AlreadyExists, HTTP 409" in again.message and "ConfigMap default/settings" in again.message
    )

    waiting = kube.run("get", config_map("settings"), success="data.stage = ready")
    assert waiting.phase == "Failed"
    assert "nothing on this machine will change it" in waiting.message

    assert kube.run("apply", config_map("settings", stage="ready")).phase == "Succeeded"
    got = kube.run(
        "get",
        config_map("settings"),
        success="data.stage = ready",
        outputs={"uid": "{.metadata.uid}"},
    )
    assert got.phase == "Succeeded" and got.outputs["uid"] == created.outputs["uid"]

    patch = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"rate": "0.1", "stage": None},
    }
    assert kube.run("patch", patch).phase == "Succeeded"  # strategic = merge for a ConfigMap
    patched = kube.run("get", config_map("settings"), success="data.rate = 0.1,!data.stage")
    assert patched.phase == "Succeeded"

    failed = kube.run("get", config_map("settings"), failure="data.rate in (0.1,0.2)")
    assert (
        failed.phase == "Failed" and "failure condition 'data.rate in (0.1,0.2)'" in failed.message
    )

    assert kube.run("delete", config_map("settings")).phase == "Succeeded"
    gone = kube.run("get", config_map("settings"))
    assert gone.phase == "Failed" and "NotFound, HTTP 404" in gone.message
    assert kube.run("delete", config_map("settings")).phase == "Succeeded"  # --ignore-not-found
    assert kube.run("replace", config_map("settings")).phase == "Failed"
    assert json.loads((kube.root / "run" / "objects.json").read_text()) == []


def test_generate_name_and_object_metadata(kube):
    manifest = {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"generateName": "thing-", "namespace": "other"},
        "spec": {"n": 1},
    }
    result = kube.run(
        "create",
        manifest,
        outputs={
            "name": "{.metadata.name}",
            "ns": "{.metadata.namespace}",
            "gen": "{.metadata.generation}",
        },
    )
    assert result.phase == "Succeeded"
    name = result.outputs["name"]
    assert re.fullmatch(r"thing-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
    assert result.outputs["ns"] == "other" and result.outputs["gen"] == "1"
    stored = json.loads((kube.root / "run" / "objects.json").read_text())
    assert [obj["metadata"]["name"] for obj in stored] == [name]


def test_output_default_stands_in_when_the_read_fails(kube):
    kube.run("create", {**config_map("c"), "spec": {"items": [1, 2]}})
    third = {"jsonPath": "{.spec.items[2]}"}
    failed = kube.run("get", config_map("c"), outputs={"third": third})
    assert failed.phase == "Failed" and "array index out of bounds: index 2" in failed.message
    read = kube.run("get", config_map("c"), outputs={"third": {**third, "default": "none"}})
    assert read.phase == "Succeeded" and read.outputs == {"third": "none"}
    missing = kube.run("get", config_map("c"), outputs={"x": {"jsonPath": "{.x}", "default": "d"}})
    assert missing.outputs == {"x": ""}  # a missing field prints nothing: no failure, no default


@pytest.mark.parametrize(
    ("path", "printed"),
    [
        ("{.metadata.name}", "x"),
        ("{$.metadata.name}", "x"),
        ("http://{.metadata.name}:{.spec.port}/", "http://x:80/"),
        ("{.spec.list[0].a}", "1"),
        ("{.spec.list[-1].a}", "2"),
        ("{.metadata.labels['app.kubernetes.io/name']}", "digits"),
        ('{.metadata.labels["app.kubernetes.io/name"]}', "digits"),
        ("{.spec.missing.deeper}", ""),
        ("{.spec.none}", "<nil>"),
        ("{.spec.none.deeper}", ""),
        ("{.spec.flag}", "true"),
        ("{.spec.small}", "1e-05"),
        ("{.spec.big}", "1.5e+06"),
        ("{.spec.half}", "0.5"),
        ("{.spec.list[0]}", '{"a":1}'),
        ("{.spec.list[0].a.b}", ""),
    ],
)
def test_jsonpath_prints_like_kubectl(path, printed):
    document = {
        "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "digits"}},
        "spec": {
            "port": 80,
            "list": [{"a": 1}, {"a": 2}],
            "none": None,
            "flag": True,
            "small": 1e-05,
            "big": 1.5e6,
            "half": 0.5,
        },
    }
    assert read_jsonpath(document, path) == printed


def test_jsonpath_index_errors_like_kubectl():
    with pytest.raises(KubectlError, match="array index out of bounds: index 2, length 1"):
        read_jsonpath({"a": [1]}, "{.a[2]}")
    with pytest.raises(KubectlError, match="indexes a non-array"):
        read_jsonpath({"a": {"b": 1}}, "{.a[0]}")


# -- TFJob ----------------------------------------------------------------------------------------


def replica_files(kube, suffix: str) -> dict[str, str]:
    folder = kube.claim / "replicas"
    return {path.stem: path.read_text() for path in sorted(folder.glob(f"*.{suffix}"))}


def set_fate(kube, replica: str, code: int) -> None:
    (kube.claim / "replicas").mkdir(parents=True, exist_ok=True)
    (kube.claim / "replicas" / f"{replica}.fate").write_text(str(code))


def job_status(kube) -> dict:
    (obj,) = [
        o
        for o in json.loads((kube.root / "run" / "objects.json").read_text())
        if o["kind"] == "TFJob"
    ]
    return obj["status"]


def test_tfjob_workers_get_tf_config_and_the_claim(kube):
    result = kube.run(
        "create",
        tfjob(),
        WORKERS_SUCCEEDED,
        WORKER_FAILED,
        outputs={"job-name": "{.metadata.name}"},
        step="train",
    )
    assert result.phase == "Succeeded", result.message
    assert result.outputs["job-name"].startswith("train-")

    configs = {name: json.loads(text) for name, text in replica_files(kube, "json").items()}
    assert sorted(configs) == ["worker-0", "worker-1"]
    cluster = configs["worker-0"]["cluster"]
    assert list(cluster) == ["worker"] and len(set(cluster["worker"])) == 2
    assert all(address.startswith("localhost:") for address in cluster["worker"])
    for index in (0, 1):
        assert configs[f"worker-{index}"] == {
            "cluster": cluster, "task": {"type": "worker", "index": index}, "environment": "cloud"
        }  # fmt: skip

    status = job_status(kube)
    assert status["replicaStatuses"] == {"Worker": {"succeeded": 2}}
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [
        ("Created", "True"), ("Running", "False"), ("Succeeded", "True")
    ]  # fmt: skip
    assert status["startTime"] <= status["completionTime"]
    assert kube.log("train").with_name("train.worker-1.log").exists()
    assert "worker-1: exited with code 0" in kube.log("train").read_text()


def test_tfjob_with_a_chief(kube):
    result = kube.run(
        "create",
        tfjob(workers=1, chief=True),
        "status.replicaStatuses.Chief.succeeded = 1",
        WORKER_FAILED,
    )
    assert result.phase == "Succeeded", result.message  # once the chief is done
    config = json.loads(replica_files(kube, "json")["chief-0"])
    assert list(config["cluster"]) == ["chief", "worker"]
    assert config["task"] == {"type": "chief", "index": 0}
    assert "worker-0: started" in kube.log().read_text()


@pytest.mark.parametrize(
    ("failing", "success_policy"),
    [
        ("worker-0", None),  # the chief: by default the job's outcome follows it
        ("worker-1", "AllWorkers"),  # by default worker 0 finishing first would succeed the job
    ],
)
def test_tfjob_failed_worker_meets_the_failure_condition(kube, failing, success_policy):
    set_fate(kube, failing, 3)
    manifest = tfjob()
    if success_policy:
        manifest["spec"]["successPolicy"] = success_policy
    result = kube.run("create", manifest, WORKERS_SUCCEEDED, WORKER_FAILED, step="train")
    assert result.phase == "Failed"
    assert "failure condition 'status.replicaStatuses.Worker.failed>0' evaluated true" in (
        result.message
    )
    assert f"{failing} exited with code 3" in result.message
    status = job_status(kube)
    assert status["replicaStatuses"]["Worker"]["failed"] == 1
    failed = status["conditions"][-1]
    assert failed["type"] == "Failed" and "1 Worker replica(s) failed" in failed["message"]


@pytest.mark.parametrize(
    ("policy", "fate", "phase"),
    [
        ("OnFailure", 1, "Succeeded"),  # restarted with the same index and port
        ("ExitCode", -9, "Succeeded"),  # killed by a signal: retryable
        ("ExitCode", 1, "Failed"),  # a permanent exit code
        ("Never", 1, "Failed"),
    ],
)
def test_tfjob_restart_policies(kube, policy, fate, phase):
    set_fate(kube, "worker-0", fate)
    result = kube.run("create", tfjob(restart_policy=policy), WORKERS_SUCCEEDED, WORKER_FAILED)
    assert result.phase == phase, result.message
    if phase == "Succeeded":
        assert job_status(kube)["replicaStatuses"] == {"Worker": {"succeeded": 2}}
        assert "worker-0: exited with code" in kube.log().read_text()
        assert "restarting it (restart 1 of backoffLimit 3)" in kube.log().read_text()


def test_tfjob_backoff_limit_ends_the_restarts(kube):
    set_fate(kube, "worker-0", 1)
    manifest = tfjob(restart_policy="OnFailure", run_policy={"backoffLimit": 0})
    result = kube.run("create", manifest, WORKERS_SUCCEEDED, WORKER_FAILED)
    assert result.phase == "Failed"
    assert "reached the specified backoff limit" in job_status(kube)["conditions"][-1]["message"]


def test_tfjob_ending_without_a_match_fails_instead_of_waiting_forever(kube):
    result = kube.run("create", tfjob(), "status.replicaStatuses.Worker.succeeded = 3")
    assert result.phase == "Failed"
    assert "nothing on this machine will change it any more" in result.message


def wait_for_replicas(kube, count: int = 2) -> None:
    deadline = time.monotonic() + 30
    while len(replica_files(kube, "pid")) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(replica_files(kube, "pid")) == count


def test_tfjob_cancel_stops_its_replicas(kube):
    cancel = threading.Event()
    results = []
    manifest = tfjob(sleep=60, marker=str(kube.root))
    step = threading.Thread(
        target=lambda: results.append(
            kube.run("create", manifest, WORKERS_SUCCEEDED, WORKER_FAILED, cancel=cancel)
        )
    )
    step.start()
    wait_for_replicas(kube)
    assert pod_processes(str(kube.root))
    cancel.set()
    step.join(30)
    assert results and results[0].phase == "Failed" and "cancelled" in results[0].message
    assert wait_until_gone(str(kube.root)) == []


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("no-such-command-here", "'no-such-command-here', which is not on this machine"),
        ("/mnt/data/not-executable.sh", "cannot be run on this machine: Permission denied"),
    ],
)
def test_tfjob_that_cannot_start_is_an_error_and_not_kept(kube, command, says):
    kube.claim.mkdir(parents=True, exist_ok=True)
    (kube.claim / "not-executable.sh").write_text("echo hi\n")
    manifest = tfjob(name="broken")
    manifest["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["command"] = [
        command
    ]
    result = kube.run("create", manifest, WORKERS_SUCCEEDED)
    assert result.phase == "Error" and says in result.message
    assert kube.run("get", tfjob(name="broken")).phase == "Failed"


def test_tfjob_delete_stops_replicas_left_running(kube):
    created = kube.run("create", tfjob(name="t", sleep=60, marker=str(kube.root)))
    assert created.phase == "Succeeded"  # no condition: returns at once
    wait_for_replicas(kube)
    again = kube.run("apply", tfjob(name="t", sleep=1))
    assert again.phase == "Error" and "already exists with another spec" in again.message
    assert kube.run("delete", tfjob(name="t")).phase == "Succeeded"
    assert wait_until_gone(str(kube.root)) == []


def test_tfjob_replicas_outlive_the_thread_of_the_step_that_started_them(kube):
    """Linux sends the parent-death signal when the thread that forked a process ends: replicas
    (and model servers) must not be forked by the step's thread, which ends before they do."""
    step = threading.Thread(target=kube.run, args=("create", tfjob(name="t", sleep=60)))
    step.start()
    step.join(30)
    wait_for_replicas(kube)
    time.sleep(0.5)  # a parent-death signal, if one was sent, has been delivered by now
    observed = kube.run("get", tfjob(name="t"), "status.replicaStatuses.Worker.active = 2")
    assert observed.phase == "Succeeded", observed.message


# -- InferenceService (the real mlflows.ml.serve) -------------------------------------------------


def predict(url: str, name: str) -> list:
    body = json.dumps({"instances": [[[[0.0]] * 28] * 28]}).encode()
    request = urllib.request.Request(
        f"{url}/v1/models/{name}:predict", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["predictions"]


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def test_inference_service_serves_rolls_out_and_stops(kube, saved_model):
    shutil.copytree(saved_model, kube.claim / "serving" / "1")
    shutil.copytree(saved_model, kube.claim / "other")
    result = kube.run(
        "apply",
        inference_service("pvc://mlflows-data/serving"),
        ISVC_READY,
        ISVC_FAILED,
        outputs={"url": "{.status.address.url}"},
        step="serve",
    )
    assert result.phase == "Succeeded", result.message
    url = result.outputs["url"]
    assert url.startswith("http://127.0.0.1:")
    assert len(predict(url, "digits")[0]) == 10
    status = json.loads((kube.root / "run" / "objects.json").read_text())[0]["status"]
    assert status["url"] == url and status["components"]["predictor"]["url"] == url
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "IngressReady": "True", "PredictorReady": "True", "Ready": "True"
    }  # fmt: skip

    same = kube.run(
        "apply",
        inference_service("pvc://mlflows-data/serving"),
        ISVC_READY,
        ISVC_FAILED,
        outputs={"url": "{.status.url}"},
    )
    assert same.phase == "Succeeded" and same.outputs["url"] == url  # not restarted

    (kube.claim / "not-a-model").write_text("x")
    broken = kube.run(
        "apply", inference_service("pvc://mlflows-data/not-a-model"), ISVC_READY, ISVC_FAILED
    )
    assert broken.phase == "Failed" and "BlockedByFailedLoad" in broken.message
    model_status = json.loads((kube.root / "run" / "objects.json").read_text())[0]["status"][
        "modelStatus"
    ]
    assert model_status["states"] == {
        "activeModelState": "Loaded",
        "targetModelState": "FailedToLoad",
    }
    assert answers(url)  # as in KServe, the old revision keeps serving

    moved = kube.run(
        "apply",
        inference_service("pvc://mlflows-data/other"),
        ISVC_READY,
        ISVC_FAILED,
        outputs={"url": "{.status.url}"},
    )
    assert moved.phase == "Succeeded", moved.message
    # The service's URL stays (Knative's route); the revision behind it is the new one, alone.
    assert moved.outputs["url"] == url
    assert len(predict(moved.outputs["url"], "digits")[0]) == 10
    predictor = json.loads((kube.root / "run" / "objects.json").read_text())[0]["status"][
        "components"
    ]["predictor"]
    assert predictor["latestRolledoutRevision"] == "digits-predictor-00003"
    assert predictor["previousRolledoutRevision"] == "digits-predictor-00001"
    assert predictor["traffic"] == [
        {"revisionName": "digits-predictor-00003", "percent": 100, "latestRevision": True}
    ]
    assert kube.cluster.serving_urls() == {"digits": moved.outputs["url"]}

    assert kube.run("delete", inference_service("pvc://mlflows-data/other")).phase == "Succeeded"
    assert not answers(moved.outputs["url"]) and kube.cluster.serving_urls() == {}


def test_inference_service_whose_server_dies_is_blocked_by_failed_load(kube):
    pytest.importorskip("mlflows.ml.serve")
    kube.claim.mkdir(parents=True)
    (kube.claim / "not-a-model").write_text("x")
    result = kube.run(
        "apply", inference_service("pvc://mlflows-data/not-a-model"), ISVC_READY, ISVC_FAILED
    )
    assert result.phase == "Failed"
    assert "transitionStatus in (BlockedByFailedLoad,InvalidSpec)' evaluated true" in result.message
    assert "exited while loading (exit code 2)" in result.message and "is a file" in result.message
    info = json.loads((kube.root / "run" / "objects.json").read_text())[0]["status"]["modelStatus"]
    assert info["lastFailureInfo"]["reason"] == "ModelLoadFailed"
    assert info["states"] == {
        "activeModelState": "FailedToLoad",
        "targetModelState": "FailedToLoad",
    }


def test_inference_service_not_ready_in_time_fails(kube, monkeypatch):
    pytest.importorskip("mlflows.ml.serve")
    monkeypatch.setattr(kserve, "LOAD_TIMEOUT_SECONDS", 1.0)
    (kube.claim / "empty-versions").mkdir(parents=True)  # served once a version appears
    result = kube.run(
        "apply", inference_service("pvc://mlflows-data/empty-versions"), ISVC_READY, ISVC_FAILED
    )
    assert result.phase == "Failed" and "not ready within 1 s" in result.message


# -- the real trainer -----------------------------------------------------------------------------


@pytest.mark.slow
def test_tfjob_trains_with_the_real_trainer_on_two_workers(kube):
    pytest.importorskip("mlflows.ml.train")
    data_dir = kube.claim / "datasets"
    subprocess.run(
        [sys.executable, "-m", "mlflows.ml.ingest", "--dataset", "digits", "--version", "latest",
         "--splits", "train,test", "--data-dir", str(data_dir),
         "--record-file", str(kube.root / "record.json")],
        check=True, capture_output=True,
    )  # fmt: skip
    manifest = tfjob(restart_policy="OnFailure")
    container = manifest["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    container["command"] = ["python", "-m", "mlflows.ml.train"]
    container["args"] = [
        "--model-type", "cnn", "--dataset", "digits", "--data-dir", "/mnt/data/datasets",
        "--saved-model-dir", "/mnt/data/models/cnn", "--checkpoint-dir", "/mnt/data/ckpt/cnn",
        "--epochs", "1", "--steps-per-epoch", "3", "--batch-size-per-replica", "16",
        "--learning-rate", "0.001", "--metrics-file", "/mnt/data/models/cnn.metrics.json",
    ]  # fmt: skip
    result = kube.run("create", manifest, WORKERS_SUCCEEDED, WORKER_FAILED, step="train")
    assert result.phase == "Succeeded", result.message
    assert (kube.claim / "models" / "cnn" / "saved_model.pb").exists()
    assert json.loads((kube.claim / "models" / "cnn.metrics.json").read_text())
