"""``--rollout canary`` end to end on this machine: the e2e flow's promote steps roll each better
model out as a KServe canary, verify probes it with held-out digits through the tag URLs of the
local KServe's real servers, and the rollout promotes it or rolls it back.

Training is mocked (the TFJobs are not what is tested); the three models are real, trained on
digits, placed where the static fan-out's train steps would save them, and evaluated for real:
offline, ``broken`` is the best of them, but the encoded-image signature the server uses feeds
it inverted pixels (tests/canary_models.py). ``broken-first``, the same model, goes first (the
others' training takes longer): with nothing served before, it is compared with itself, and
rolled back against its own offline accuracy (it serves on, as nothing else can, but its
version is rejected). ``good-1`` comes next and is promoted; then, in whichever order the mutex
lets them, ``broken`` is rolled back with its traffic never above the canary's share, and
``good-2`` is promoted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from repo_workflows import REPO

from mlflows.canary import Canary
from mlflows.rendering import render
from mlflows.specs import ModelSpec
from mlflows.testing import Mock

pytestmark = pytest.mark.slow

NAME = "canary"  # the workflow's name: the models go under runs/<name>/models before it runs
PERCENT = 20
MODELS = ("broken-first", "good-1", "good-2", "broken")
TRAFFIC = re.compile(r"traffic (.*)$")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    pytest.importorskip("mlflows.ml.serve")
    from mlflows.ml import ingest

    data_dir = tmp_path_factory.mktemp("datasets")
    ingest.ingest("digits", "latest", ["train", "test"], data_dir)
    out = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, str(REPO / "tests" / "canary_models.py"), str(out), "--data-dir",
         str(data_dir)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def descendant(run, ancestor: str, name: str):
    """The node named ``name`` below the one named ``ancestor``."""
    by_id = {node.id: node for node in run.result.nodes}
    top = run.node(ancestor)
    for node in run.result.nodes:
        parent = node
        while parent.parent_id is not None and parent.id != top.id:
            parent = by_id[parent.parent_id]
        if parent.id == top.id and node.display_name == name:
            return node
    raise AssertionError(f"no {name} below {ancestor}: {run}")


def traffic_changes(logs: Path) -> list[dict[str, int]]:
    """Every traffic the local KServe set, in order: {revision: percent}."""
    events = []
    for log in logs.glob("*.log"):
        for line in log.read_text().splitlines():
            if (found := TRAFFIC.search(line)) and "InferenceService digits:" in line:
                stamp = line.split(" ", 1)[0]
                shares: dict[str, int] = {}
                for target in found.group(1).split(", "):
                    _, revision, percent = target.split(" ")
                    shares[revision] = shares.get(revision, 0) + int(percent.rstrip("%"))
                events.append((stamp, shares))
    return [shares for _, shares in sorted(events, key=lambda event: event[0])]


def test_a_broken_model_is_rolled_back_and_a_good_one_promoted(mlflows_run, e2e, models, tmp_path):
    specs = [  # steps differ only so that the specs differ: the training is mocked
        ModelSpec(name=name, architecture="cnn", epochs=1, steps_per_epoch=5 + n, workers=1)
        for n, name in enumerate(MODELS)
    ]
    workflow = e2e.build_workflow(
        specs, dataset="digits", loop=False, rollout=Canary(percent=PERCENT, probes=60)
    )
    manifest = render(workflow)
    del manifest["metadata"]["generateName"]
    manifest["metadata"]["name"] = NAME
    work = tmp_path / "work"
    for name in MODELS:
        shutil.copytree(
            models / name.removesuffix("-first"),
            work / "volumes" / "mlflows-data" / "runs" / NAME / "models" / name,
        )
    mocks = {
        "train-broken-first": Mock(outputs={"job-name": "broken-first"}),
        "train-good-1": Mock(outputs={"job-name": "good-1"}, delay=8),
        "train-*": Mock(outputs={"job-name": "later"}, delay=15),
    }
    run = mlflows_run(manifest, mocks=mocks, work_dir=work)

    run.assert_succeeded()
    decisions = {
        name: descendant(run, f"promote-{name}", "rollout").outputs.parameters for name in MODELS
    }
    assert decisions["good-1"]["decision"] == "promote"
    assert decisions["good-2"]["decision"] == "promote"
    assert decisions["broken"]["decision"] == "rollback"
    assert decisions["broken-first"]["decision"] == "rollback"
    assert decisions["broken-first"]["reason"].startswith("canary accuracy 0.0")
    assert ", offline 0.9" in decisions["broken-first"]["reason"]
    # Offline it is the best; served, it is caught against its own evaluated accuracy.
    assert decisions["broken"]["reason"].startswith("canary accuracy 0.0")
    assert ", offline 0.9" in decisions["broken"]["reason"]
    revisions = {
        name: descendant(run, f"promote-{name}", "canary").outputs.parameters["canary-revision"]
        for name in MODELS
    }
    assert descendant(run, "promote-broken", "rollback").phase == "Succeeded"
    assert descendant(run, "promote-broken", "promote-canary").phase == "Skipped"

    # The broken revision never had more than the canary's share, and has none at the end.
    changes = traffic_changes(work / "runs" / NAME / "logs")
    broken_shares = [shares.get(revisions["broken"], 0) for shares in changes]
    assert max(broken_shares) == PERCENT, changes
    service = json.loads((work / "runs" / NAME / "objects.json").read_text())[0]
    final = {
        t["revisionName"]: t["percent"]
        for t in service["status"]["components"]["predictor"]["traffic"]
    }
    assert final[revisions["good-2"]] == 100 and final.get(revisions["broken"], 0) == 0, final
    # What serves is good-2; the broken version is rejected, so it is not the champion.
    assert run.outputs("served")["revision"] == revisions["good-2"]
    assert re.match(r"predicted class \d", run.outputs("predict")["result"])
    serving = work / "volumes" / "mlflows-data" / "runs" / NAME / "serving"
    rejected = sorted(p.parent.name for p in serving.glob("*/rejected.json"))
    assert len(rejected) == 2
    # The run's last line names the model served and each canary's fate, in rollout order.
    line = e2e.served_summary(run.result, Canary())
    served, canaries, predicted = line.split("; ", 2)
    assert served == f"served: good-2 (revision {revisions['good-2']})"
    assert canaries.startswith(
        f"canaries: broken-first rolled back ({decisions['broken-first']['reason']}), "
        "good-1 promoted, "
    )
    assert "good-2 promoted" in canaries
    assert f"broken rolled back ({decisions['broken']['reason']})" in canaries
    assert predicted.startswith("predicted class ")
