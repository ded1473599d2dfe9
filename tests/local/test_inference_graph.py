"""The local KServe running an ensemble's InferenceGraph for real: two model servers
(``mlflows.ml.serve``), the combiner as a custom predictor container, and KServe's router on a
port, applied from the manifests the pipeline writes (:mod:`mlflows.ensemble`)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
from resources_fixtures import (  # noqa: F401  (kube_fixture provides the kube fixture)
    ISVC_FAILED,
    ISVC_READY,
    Kube,
    kube_fixture,
    resource,
)

from mlflows.ensemble import (
    GRAPH_READY,
    EnsembleNames,
    combiner_manifest,
    graph_manifest,
    member_step,
)
from mlflows.errors import UserError
from mlflows.inference_service import inference_service_manifest
from mlflows.local.cluster import inference_graph
from mlflows.local.cluster.resources import LocalCluster
from mlflows.local.executor.volumes import VolumeStore

NAMES = EnsembleNames("digits")
MEMBERS = ("top-1", "top-2")
ACCOUNT = "mlflows-workloads"


def member_service(member: str) -> dict:
    return inference_service_manifest(
        name=NAMES.member(member),
        storage_uri=f"pvc://mlflows-data/ensemble/{member}",
        service_account=ACCOUNT,
    )


def the_graph(members=MEMBERS) -> dict:
    return graph_manifest(
        NAMES.graph, [member_step(NAMES, member) for member in members], NAMES.combiner
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Two differently initialised models served as members, the combiner and the graph;
    yields the Kube and the URLs: ``{"graph": ..., "top-1": ..., "top-2": ...}``."""
    pytest.importorskip("mlflows.ml.serve")
    root = tmp_path_factory.mktemp("graph")
    cluster = LocalCluster(
        volumes=VolumeStore(root / "volumes"), run_dir=root / "run", namespace="default",
        workflow_name="wf",
    )  # fmt: skip
    kube = Kube(cluster, root)
    script = (
        "import sys; from mlflows.ml import export, models; from mlflows.ml.cluster import Role; "
        "export.save(models.build('cnn', 1e-3), sys.argv[1], Role('worker', 0, 1, is_chief=True))"
    )
    for member in MEMBERS:  # two processes: two random initialisations
        path = kube.claim / "ensemble" / member / "1"
        subprocess.run([sys.executable, "-c", script, str(path)], check=True, capture_output=True)
    try:
        results = {}

        def apply(step: str, manifest: dict) -> None:
            results[step] = kube.run("apply", manifest, ISVC_READY, ISVC_FAILED, step=step)

        threads = [
            threading.Thread(target=apply, args=(member, member_service(member)))
            for member in MEMBERS
        ]
        threads.append(
            threading.Thread(
                target=apply, args=("combiner", combiner_manifest(NAMES.combiner, "img", ACCOUNT))
            )
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {step: r.phase for step, r in results.items()} == dict.fromkeys(
            [*MEMBERS, "combiner"], "Succeeded"
        ), results
        graph = kube.run(
            "apply", the_graph(), GRAPH_READY, outputs={"url": "{.status.url}"}, step="graph"
        )
        assert graph.phase == "Succeeded", graph.message
        urls = cluster.serving_urls()
        yield (
            kube,
            {
                "graph": graph.outputs["url"],
                **{member: urls[NAMES.member(member)] for member in MEMBERS},
            },
        )
    finally:
        cluster.close()


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def predict_path(base: str, name: str) -> str:
    return f"{base}/v1/models/{name}:predict"


def test_the_graph_answers_the_mean_of_its_members_probabilities(served):
    _, urls = served
    images = np.random.default_rng(0).random((3, 28, 28, 1)).round(3).tolist()
    body = json.dumps({"instances": images}).encode()

    status, answer = post(predict_path(urls["graph"], "digits"), body)
    answers = [post(predict_path(urls[m], NAMES.member(m)), body)[1] for m in MEMBERS]

    assert status == 200
    members = np.array([a["predictions"] for a in answers])
    assert not np.allclose(members[0], members[1])  # two different models, or nothing is tested
    assert np.allclose(answer["predictions"], members.mean(axis=0), atol=1e-6)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (json.dumps({"instances": [[[255.0] * 28] * 28]}), "divide 0-255 pixels by 255"),
        (json.dumps({"instances": []}), "expected a non-empty list of images"),
        (json.dumps({"instances": [{"b64": "!!"}]}), "instances[0].b64: not valid base64"),
        (json.dumps({"instances": [[1.0, 2.0]]}), "got shape (2,)"),
    ],
)
def test_the_graph_answers_a_bad_request_400_as_one_model_does(served, body, says):
    _, urls = served
    status, answer = post(predict_path(urls["graph"], "digits"), body.encode())
    member_status, member_answer = post(
        predict_path(urls["top-1"], NAMES.member("top-1")), body.encode()
    )

    assert (status, member_status) == (400, 400)
    assert says in answer["error"]
    assert answer == member_answer


def test_the_graph_status_is_ready_with_its_url(served):
    kube, urls = served
    [graph] = [o for o in json.loads((kube.root / "run" / "objects.json").read_text())
               if o["kind"] == "InferenceGraph"]  # fmt: skip
    assert graph["status"]["url"] == urls["graph"]
    assert [c["status"] for c in graph["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
    with urllib.request.urlopen(urls["graph"] + "/readyz", timeout=5) as answer:
        assert answer.status == 200
    # what a run kept serving (--keep-serving) lists: the graph and every service behind it
    served = kube.cluster.serving_urls()
    assert set(served) == {NAMES.graph, NAMES.combiner, *map(NAMES.member, MEMBERS)}
    assert served[NAMES.graph] == urls["graph"]


def test_a_graph_whose_service_never_comes_fails_instead_of_waiting(kube, monkeypatch):
    monkeypatch.setattr(inference_graph, "READY_TIMEOUT_SECONDS", 0.5)
    result = kube.run("apply", the_graph(["top-9"]), GRAPH_READY)
    assert result.phase == "Failed"
    # the first service it asks for, in the order of its nodes: the combiner, in root
    assert "InferenceService digits-combiner has no URL after 0 s; is it applied" in result.message


def test_a_custom_predictor_that_exits_is_blocked_by_failed_load(kube):
    manifest = combiner_manifest(NAMES.combiner, "img", ACCOUNT)
    manifest["spec"]["predictor"]["containers"][0]["args"] = ["--model-name"]  # a usage error
    result = kube.run("apply", manifest, ISVC_READY, ISVC_FAILED)
    assert result.phase == "Failed"
    assert "the predictor container exited (exit code 2)" in result.message


def refusal(kube: Kube, template: dict) -> str:
    with pytest.raises(UserError) as raised:
        kube.cluster.check("step-x", template)
    message = str(raised.value)
    assert message.startswith("template step-x: ") and "\n" not in message
    return message


def graph_with(edit) -> dict:
    manifest = the_graph()
    edit(manifest["spec"]["nodes"])
    return manifest


@pytest.mark.parametrize(
    ("manifest", "says"),
    [
        (graph_with(lambda n: n["members"].update(routerType="Splitter")), "runs Sequence and"),
        (graph_with(lambda n: n["root"]["steps"][0].update(condition="x")), "does not evaluate"),
        (graph_with(lambda n: n.pop("root")), "one of them named root"),
        (graph_with(lambda n: n["root"]["steps"][0].update(nodeName="nope")), "no such node"),
        (graph_with(lambda n: n["root"]["steps"][1].pop("serviceName")), "exactly one of"),
        (graph_with(lambda n: n["root"]["steps"][1].update(extra=1)), "not a field of an"),
    ],
)
def test_check_refuses_graphs_the_local_router_cannot_run(kube, manifest, says):
    assert says in refusal(kube, resource("apply", manifest))


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda c: c.pop("command"), "needs a command"),
        (lambda c: c.update(volumeMounts=[]), "volumeMounts"),
        (lambda c: c.update(command=["tritonserver"]), "not on this machine"),
    ],
)
def test_check_refuses_custom_predictors_it_cannot_run(kube, edit, says):
    manifest = combiner_manifest(NAMES.combiner, "img", ACCOUNT)
    edit(manifest["spec"]["predictor"]["containers"][0])
    assert says in refusal(kube, resource("apply", manifest))
