"""An InferenceService's ``spec.predictor.batcher`` reaches the local model server's batching."""

from __future__ import annotations

import json
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from resources_fixtures import (
    ISVC_FAILED,
    ISVC_READY,
    inference_service,
    kube_fixture,  # noqa: F401  (provides the kube fixture)
)

from mlflows.errors import UserError
from mlflows.local.cluster.kserve import batcher_flags


def with_batcher(batcher) -> dict:
    manifest = inference_service("pvc://mlflows-data/serving")
    manifest["spec"]["predictor"]["batcher"] = batcher
    return manifest


@pytest.mark.parametrize(
    ("batcher", "flags"),
    [
        ({"maxBatchSize": 4, "maxLatency": 20}, ["4", "20"]),
        ({}, ["32", "5000"]),  # KServe's agent defaults
        ({"maxBatchSize": 8, "timeout": 60}, ["8", "5000"]),
        ({"maxBatchSize": 0, "maxLatency": -1}, ["32", "5000"]),  # not above 0: the default
    ],
)
def test_the_batcher_becomes_the_servers_batching_flags(batcher, flags):
    assert batcher_flags(with_batcher(batcher)) == [
        "--max-batch-size", flags[0], "--max-batch-wait-ms", flags[1]
    ]  # fmt: skip


def test_without_a_batcher_the_server_keeps_its_own_batching():
    assert batcher_flags(inference_service("pvc://mlflows-data/serving")) == []


@pytest.mark.parametrize(
    ("batcher", "says"),
    [
        ({"maxBatchSize": "many"}, "spec.predictor.batcher.maxBatchSize: 'many'"),
        ({"maxLatency": 1.5}, "spec.predictor.batcher.maxLatency: 1.5"),
        ([32], "spec.predictor.batcher: give a mapping"),
    ],
)
def test_a_batcher_it_cannot_read_is_one_line(batcher, says):
    with pytest.raises(UserError, match="^InferenceService " + says.replace(".", r"\.")):
        batcher_flags(with_batcher(batcher))


def batch_counts(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        lines = response.read().decode().splitlines()
    return {
        name: float(value)
        for name, _, value in (line.partition(" ") for line in lines)
        if name.startswith("mlflows_batch")
    }


def predict(url: str) -> int:
    body = json.dumps({"instances": [[[[0.0]] * 28] * 28]}).encode()
    request = urllib.request.Request(
        f"{url}/v1/models/digits:predict", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return len(json.load(response)["predictions"])


def test_the_served_model_batches_as_its_batcher_says(kube, saved_model):
    """Eight requests at once, batches of at most four waiting up to two seconds to fill: two
    model calls of four (the server's own batching would make one call of eight, or more calls
    of fewer if it did not wait)."""
    shutil.copytree(saved_model, kube.claim / "serving" / "1")
    result = kube.run(
        "apply",
        with_batcher({"maxBatchSize": 4, "maxLatency": 2000}),
        ISVC_READY,
        ISVC_FAILED,
        outputs={"url": "{.status.address.url}"},
    )
    assert result.phase == "Succeeded", result.message
    url = result.outputs["url"]
    before = batch_counts(url)
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: predict(url), range(8))) == [1] * 8
    after = batch_counts(url)
    made = {name: after[name] - before[name] for name in after}
    assert made == {
        "mlflows_batches_total": 2,
        "mlflows_batched_requests_total": 8,
        "mlflows_batched_images_total": 8,
    }
