"""The load test (``python -m mlflows.ml.load_test``) against a real model server, against
servers that fail in each way a server can, and as the e2e flow's ``load-test`` step: run by the
local runner against the KServe stand-in serving a trained digits model (training mocked)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from itertools import count
from pathlib import Path

import pytest

from mlflows.errors import UserError
from mlflows.load_testing import MEASURES, LoadTest
from mlflows.ml import load_test, versions
from mlflows.rendering import render
from mlflows.specs import ModelSpec
from mlflows.testing import Mock

NAME = "digits"


@pytest.fixture
def run_load(cli, digits_dir, tmp_path):
    """``run_load(url, *flags) -> (report, measures, stdout)`` of a load test that succeeded."""

    def run(url: str, *flags: str) -> tuple[dict, dict[str, str], str]:
        report, outputs = tmp_path / "report.json", tmp_path / "outputs"
        argv = [
            "--url", url, "--model-name", NAME, "--dataset", "digits",
            "--data-dir", str(digits_dir), "--report-file", str(report),
            "--outputs-dir", str(outputs), *flags,
        ]  # fmt: skip
        code, out, err = cli(load_test.main, argv)
        assert code == 0, err
        measures = {name: (outputs / name).read_text() for name in MEASURES}
        return json.loads(report.read_text()), measures, out

    return run


def assert_consistent(report: dict, measures: dict[str, str], max_requests: int) -> None:
    """What every load test's numbers must satisfy, whatever the server did."""
    assert report["requests"] == report["ok"] + report["errors"]
    assert 0 < report["requests"] <= max_requests
    failed = sum(report["statuses"].values()) + sum(report["unanswered"].values())
    assert failed == report["errors"]
    rate = report["requests"] / report["elapsed_seconds"]
    assert report["requests_per_second"] == pytest.approx(rate, rel=0.01)
    assert measures["requests"] == str(report["requests"])
    assert measures["errors"] == str(report["errors"])
    assert float(measures["requests-per-second"]) == pytest.approx(rate, rel=0.01)
    if report["ok"]:
        latency = report["latency_ms"]
        assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p100"]
        assert float(measures["p50-ms"]) == latency["p50"]
        assert float(measures["p99-ms"]) == latency["p99"]
    else:
        assert report["latency_ms"] is None and measures["p50-ms"] == measures["p99-ms"] == ""


@pytest.fixture(scope="module")
def served(model_server, trained, http_status, wait_for) -> str:
    url, proc = model_server(trained("cnn")[0], NAME)
    wait_for(lambda: http_status(f"{url}/v1/models/{NAME}") == 200, "the model to load", proc)
    return url


def test_against_a_served_model_every_request_is_answered_until_max_requests(served, run_load):
    report, measures, out = run_load(
        served, "--max-requests", "300", "--duration", "10m", "--concurrency", "4"
    )
    assert_consistent(report, measures, 300)
    assert report["stopped_by"] == "max-requests"
    assert report["requests"] == report["ok"] == 300 and report["errors"] == 0
    assert out.startswith(f"load test of {served} at concurrency 4 for ")
    assert "300 requests" in out and "0 errors" in out and out.count("\n") == 1


def test_the_duration_stops_it_before_max_requests(served, run_load):
    report, measures, _ = run_load(served, "--duration", "1s", "--concurrency", "2")
    assert_consistent(report, measures, 100_000)
    assert report["stopped_by"] == "duration"
    # No new request starts after the duration; one under way then is still awaited.
    assert report["elapsed_seconds"] >= 1.0
    assert report["errors"] == 0


class Answers(http.server.BaseHTTPRequestHandler):
    """Answers each POST by the server's ``answer(n)``: a status, or None to hang up."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the model server

    def do_POST(self):  # noqa: N802 (the handler's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        status = self.server.answer(next(self.server.counter))
        if status is None:
            self.close_connection = True
            return
        body = json.dumps({"predictions": [[1.0] + [0.0] * 9]} if status == 200 else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ClosingAnswers(Answers):
    protocol_version = "HTTP/1.0"  # one request per connection, closed after the answer


@pytest.fixture
def fake_server():
    """``start(answer, handler) -> URL`` of a threaded HTTP server answering by ``answer``."""
    servers = []

    def start(answer, handler=Answers) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.answer, server.counter, server.daemon_threads = answer, count(), True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("answer", "handler", "statuses", "unanswered"),
    [
        (lambda n: 500, Answers, {"500": 40}, {}),
        (lambda n: 400, ClosingAnswers, {"400": 40}, {}),
        (lambda n: None, Answers, {}, {"the server closed the connection": 40}),
        (lambda n: 200 if n % 2 else 503, Answers, {"503": 20}, {}),
    ],
    ids=["500", "400 closing", "hang-up", "half 503"],
)
def test_failed_requests_are_counted_not_raised(
    fake_server, run_load, answer, handler, statuses, unanswered
):
    url = fake_server(answer, handler)
    report, measures, out = run_load(url, "--max-requests", "40", "--concurrency", "3")
    assert_consistent(report, measures, 40)
    assert report["requests"] == 40
    assert report["statuses"] == statuses and report["unanswered"] == unanswered
    assert report["ok"] == 40 - sum(statuses.values()) - sum(unanswered.values())
    assert f"{report['errors']} errors" in out


def test_a_closed_port_is_counted_as_refused(free_port, run_load):
    report, measures, _ = run_load(f"http://127.0.0.1:{free_port()}", "--max-requests", "25")
    assert_consistent(report, measures, 25)
    assert report["unanswered"] == {"connection refused": 25} and report["ok"] == 0


def test_a_server_that_never_answers_times_out_each_request(run_load):
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the backlog), never answers
    port = listener.getsockname()[1]
    try:
        report, measures, _ = run_load(
            f"http://127.0.0.1:{port}", "--max-requests", "4", "--concurrency", "2",
            "--timeout", "200ms",
        )  # fmt: skip
    finally:
        listener.close()
    assert_consistent(report, measures, 4)
    assert report["unanswered"] == {"timed out": 4}


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--duration", "0s"], "--duration"),
        (["--duration", "soon"], "--duration"),
        (["--timeout", "0"], "--timeout"),
        (["--concurrency", "0"], "--concurrency"),
        (["--concurrency", "1000"], "--concurrency"),
        (["--max-requests", "-1"], "--max-requests"),
        (["--url", "ftp://host/"], "--url"),
        (["--url", "https://host:8443"], "--url"),
        (["--dataset", "imagenet"], "--dataset"),
        (["--data-dir", "{empty}"], "--data-dir"),
        (["--report-file", "{empty}"], "--report-file"),
    ],
)
def test_mistakes_are_one_error_line(cli, digits_dir, tmp_path, flags, field):
    given = dict(zip(flags[::2], (f.format(empty=tmp_path) for f in flags[1::2]), strict=True))
    options = {
        "--url": "http://127.0.0.1:1",
        "--model-name": NAME,
        "--dataset": "digits",
        "--data-dir": str(digits_dir),
        "--report-file": str(tmp_path / "report.json"),
        **given,
    }
    argv = [part for option in options.items() for part in option]
    code, out, err = cli(load_test.main, argv)
    assert code == UserError.exit_code and out == ""
    assert err.startswith("error: ") and field in err and err.count("\n") == 1, err
    assert not (tmp_path / "report.json").exists()


def test_the_rendered_step_writes_every_output_it_declares(e2e, cli, digits_dir, tmp_path):
    """The flow's template and the entry point agree on the flags and the output files."""
    manifest = render(e2e.build_workflow(load=LoadTest(duration="1s", max_requests=5)))
    template = next(t for t in manifest["spec"]["templates"] if t["name"] == "load-test")
    places = {
        "{{inputs.parameters.url}}": "http://127.0.0.1:1",
        "{{workflow.parameters.dataset}}": "digits",
        "/mnt/data/datasets": str(digits_dir),
        "/mnt/data": str(tmp_path / "volume"),
        "/tmp/outputs": str(tmp_path / "outputs"),
    }

    def local(text: str) -> str:
        for placeholder, value in places.items():
            text = text.replace(placeholder, value)
        return text.replace("{{workflow.name}}", "e2e-test")

    command = template["container"]["command"]
    assert command[:3] == ["python", "-m", "mlflows.ml.load_test"]
    code, _, err = cli(load_test.main, [local(arg) for arg in template["container"]["args"]])
    assert code == 0, err
    written = {
        parameter["name"]: Path(local(parameter["valueFrom"]["path"])).read_text()
        for parameter in template["outputs"]["parameters"]
    }
    assert set(written) == set(MEASURES)
    assert written["requests"] == written["errors"] == "5"
    report = tmp_path / "volume" / "runs" / "e2e-test" / "load-test.json"
    assert json.loads(report.read_text())["unanswered"] == {"connection refused": 5}


def test_the_flow_load_tests_the_model_the_stand_in_serves(e2e, mlflows_run, trained, tmp_path):
    """The e2e flow with ``--load-test``, run by the local runner: ingest, serve (the KServe
    stand-in starting the model server), predict and the load test are real; training,
    evaluation, promotion and selection are mocked, the served model put in place before."""
    spec = ModelSpec(name="cnn", architecture="cnn", epochs=1, steps_per_epoch=5, workers=1)
    load = LoadTest(duration="5m", concurrency=4, max_requests=200)
    workflow = render(e2e.build_workflow([spec], dataset="digits", load=load))
    metadata = workflow["metadata"]
    metadata["name"] = metadata.pop("generateName") + "load-test"
    volume = tmp_path / "work" / "volumes" / "mlflows-data" / "runs" / metadata["name"]
    versions.promote(trained("cnn")[0], volume / "serving", 0.9)
    mocks = {
        "train": Mock(outputs={"job-name": "cnn", "model-dir": "/mnt/data/models/cnn"}),
        "evaluate": Mock(outputs={"accuracy": "0.9"}),
        "promote": Mock(),
        "select": Mock(outputs={"accuracy": "0.9", "result": "{}"}),
    }
    run = mlflows_run(workflow, mocks=mocks)

    run.assert_succeeded()
    assert run.order("serve", "load-test")
    assert run.outputs("predict")["result"].startswith("predicted class")
    outputs = run.outputs("load-test")
    report = json.loads((volume / "load-test.json").read_text())
    assert_consistent(report, {name: outputs[name] for name in MEASURES}, 200)
    assert report["requests"] == report["ok"] == 200 and report["stopped_by"] == "max-requests"
    assert report["url"].startswith("http://127.0.0.1:")  # the stand-in's status.address.url
