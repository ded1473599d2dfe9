"""The local KServe's canary rollouts, with real model servers: the route splits requests by
``canaryTrafficPercent`` (measured over 100 requests), the ``latest`` and ``prev`` tags have URLs
of their own, and the status says what KServe's does. The two models answer every image with
different classes (``shifted`` is ``plain`` with class c moved to c + 1), so an answer tells
which revision gave it. The conditions are the ones the rollout templates wait for."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from resources_fixtures import inference_service, kube_fixture  # noqa: F401 (kube)

from mlflows.rollout import INVALID, SETTLED

REPO = Path(__file__).resolve().parents[2]
REQUESTS = 100


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    pytest.importorskip("mlflows.ml.serve")
    out = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, str(REPO / "tests" / "canary_models.py"), str(out)],
        check=True,
        capture_output=True,
    )
    return out


def canary(storage_uri: str, percent: int | None) -> dict:
    manifest = inference_service(storage_uri)
    manifest["metadata"]["annotations"] = {"serving.kserve.io/enable-tag-routing": "true"}
    if percent is not None:
        manifest["spec"]["predictor"]["canaryTrafficPercent"] = percent
    return manifest


def patch(percent: int) -> dict:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "digits"},
        "spec": {"predictor": {"canaryTrafficPercent": percent}},
    }


def predicted(url: str) -> int:
    body = json.dumps({"instances": [[[[0.5]] * 28] * 28]}).encode()
    request = urllib.request.Request(
        f"{url}/v1/models/digits:predict", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        scores = json.load(response)["predictions"][0]
    return max(range(len(scores)), key=scores.__getitem__)


def predictor_status(kube) -> dict:
    return json.loads((kube.root / "run" / "objects.json").read_text())[0]["status"]["components"][
        "predictor"
    ]


def answers_from(url: str, plain_class: int) -> dict[str, int]:
    """How many of REQUESTS requests to ``url`` each model answered."""
    counts = {"plain": 0, "shifted": 0}
    for _ in range(REQUESTS):
        answer = predicted(url)
        assert answer in (plain_class, (plain_class + 1) % 10)
        counts["plain" if answer == plain_class else "shifted"] += 1
    return counts


def test_a_canary_gets_its_share_by_tag_and_route_then_is_rolled_back_or_promoted(kube, models):
    shutil.copytree(models / "plain", kube.claim / "serving" / "1")
    shutil.copytree(models / "shifted", kube.claim / "serving" / "2")
    first = kube.run(
        "apply",
        canary("pvc://mlflows-data/serving/1", None),
        SETTLED,
        INVALID,
        {"url": "{.status.url}"},
    )
    assert first.phase == "Succeeded", first.message
    url = first.outputs["url"]
    plain_class = predicted(url)

    split = kube.run("apply", canary("pvc://mlflows-data/serving/2", 20), SETTLED, INVALID)
    assert split.phase == "Succeeded", split.message
    status = predictor_status(kube)
    assert (
        status["latestCreatedRevision"] == status["latestReadyRevision"] == "digits-predictor-00002"
    )
    assert status["latestRolledoutRevision"] == "digits-predictor-00001"
    latest, previous = status["traffic"]
    assert {k: latest[k] for k in ("tag", "revisionName", "percent", "latestRevision")} == {
        "tag": "latest", "revisionName": "digits-predictor-00002", "percent": 20,
        "latestRevision": True,
    }  # fmt: skip
    assert {k: previous[k] for k in ("tag", "revisionName", "percent", "latestRevision")} == {
        "tag": "prev", "revisionName": "digits-predictor-00001", "percent": 80,
        "latestRevision": False,
    }  # fmt: skip
    assert len({url, latest["url"], previous["url"]}) == 3
    assert predicted(latest["url"]) == (plain_class + 1) % 10  # the tags reach one revision each
    assert predicted(previous["url"]) == plain_class
    assert answers_from(url, plain_class) == {"plain": 80, "shifted": 20}

    rolled_back = kube.run("patch", patch(0), "status.components.predictor.traffic.0.percent = 0")
    assert rolled_back.phase == "Succeeded", rolled_back.message
    status = predictor_status(kube)
    assert [(t["revisionName"], t["percent"]) for t in status["traffic"]] == [
        ("digits-predictor-00002", 0), ("digits-predictor-00001", 100)
    ]  # fmt: skip
    assert status["latestRolledoutRevision"] == "digits-predictor-00001"
    assert answers_from(url, plain_class) == {"plain": 100, "shifted": 0}
    assert predicted(status["traffic"][0]["url"]) == (plain_class + 1) % 10  # still by its tag

    promoted = kube.run(
        "patch",
        patch(100),
        "status.components.predictor.latestRolledoutRevision = digits-predictor-00002",
    )
    assert promoted.phase == "Succeeded", promoted.message
    status = predictor_status(kube)
    assert status["previousRolledoutRevision"] == "digits-predictor-00001"
    assert [(t["tag"], t["revisionName"], t["percent"]) for t in status["traffic"]] == [
        ("latest", "digits-predictor-00002", 100)
    ]
    assert answers_from(url, plain_class) == {"plain": 0, "shifted": 100}


def test_a_first_canary_takes_all_traffic_and_a_failed_one_leaves_the_tag_on_the_old(kube, models):
    shutil.copytree(models / "plain", kube.claim / "serving" / "1")
    (kube.claim / "serving" / "2").mkdir()
    (kube.claim / "serving" / "2" / "saved_model.pb").write_text("not a model")
    first = kube.run("apply", canary("pvc://mlflows-data/serving/1", 10), SETTLED, INVALID)
    assert first.phase == "Succeeded", first.message
    status = predictor_status(kube)
    # Nothing was rolled out before: KServe gives the first revision everything, and then,
    # rolled out, both the canary's and the rest's target.
    assert status["latestRolledoutRevision"] == "digits-predictor-00001"
    assert [(t["tag"], t["revisionName"], t["percent"]) for t in status["traffic"]] == [
        ("latest", "digits-predictor-00001", 10), ("prev", "digits-predictor-00001", 90)
    ]  # fmt: skip

    broken = kube.run("apply", canary("pvc://mlflows-data/serving/2", 10), SETTLED, INVALID)
    assert broken.phase == "Succeeded", broken.message  # settled: blocked by the failed load
    document = json.loads((kube.root / "run" / "objects.json").read_text())[0]["status"]
    assert document["modelStatus"]["transitionStatus"] == "BlockedByFailedLoad"
    status = document["components"]["predictor"]
    assert status["latestCreatedRevision"] == "digits-predictor-00002"
    assert status["latestReadyRevision"] == "digits-predictor-00001"
    assert status["traffic"][0]["revisionName"] == "digits-predictor-00001"
