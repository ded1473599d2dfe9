"""The e2e flow, run locally end to end on the offline digits dataset with small step counts."""

import json
import re

import pytest


def run_e2e(e2e, tmp_path, name, *flow_args):
    report = tmp_path / f"{name}.json"
    code = e2e.main(
        [
            "--local",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "5",
            *flow_args,
            "--report-json",
            str(report),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--work-dir",
            str(tmp_path / "work"),
        ]
    )
    status = json.loads(report.read_text())
    return code, status, {node["displayName"]: node for node in status["nodes"].values()}


@pytest.mark.slow
def test_e2e_flow_runs_locally_and_reruns_ingestion_from_the_memo_cache(e2e, tmp_path):
    code, status, nodes = run_e2e(e2e, tmp_path, "cold")
    assert code == 0, status.get("message")
    assert status["phase"] == "Succeeded"
    assert nodes["ingest"]["memoizationStatus"]["hit"] is False
    for model in ("cnn", "dropout", "batch-norm"):
        assert nodes[f"train-{model}"]["phase"] == "Succeeded"
        accuracy = next(p["value"] for p in nodes[f"evaluate-{model}"]["outputs"]["parameters"])
        assert 0.0 <= float(accuracy) <= 1.0
    assert nodes["select"]["phase"] == "Succeeded"
    url = nodes["serve"]["outputs"]["parameters"][0]["value"]
    assert url.startswith("http://")
    predict_log = next((tmp_path / "work" / "runs").glob("*/logs/*.predict.log")).read_text()
    assert re.search(r"predicted class \d", predict_log)

    code, status, nodes = run_e2e(e2e, tmp_path, "rerun", "--models", "cnn", "--workers", "1")
    assert code == 0, status.get("message")
    assert nodes["ingest"]["memoizationStatus"]["hit"] is True
    assert nodes["ingest"]["phase"] == "Succeeded"
