"""User mistakes in the e2e flow's options: one ``error:`` line naming the field, a non-zero exit,
no traceback, and nothing sent to the Argo server even with --submit."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading

import pytest
from repo_workflows import REPO, child_environment

from mlflows.specs import LIMITS


@pytest.fixture
def tripwire_server():
    """A loopback HTTP server that only records whether anyone called it."""
    calls: list[str] = []

    class Record(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            calls.append(self.path)
            self.send_response(500)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", calls
    server.shutdown()


@pytest.mark.parametrize(
    "options, field",
    [
        (["--namespace", "ML_Team"], "namespace"),
        (["--models", "cnn,cnn"], "models[1].name"),
        (["--models", "cnn,resnet"], "models"),
        (["--models", ""], "models"),
        (["--workers", "0"], "--workers"),
        (["--workers", "1000000"], "--workers"),
        (["--epochs", "-1"], "--epochs"),
        (["--epochs", "99999999999999999999"], "--epochs"),
        (["--steps-per-epoch", "10000001"], "--steps-per-epoch"),
        (["--image", ""], "image"),
        (["--image", "Trainer:latest"], "image"),
        (["--cache-max-age", "one day"], "cache max age"),
        (["--local"], "--local and --submit"),
        (["--output", "/nonexistent-dir/workflow.yaml"], "--output"),
        (["--fan-out", "nope"], "e2e.py"),  # argparse's own mistakes are one line too
        (["--load-test", "soon"], "--load-test"),
        (["--load-test", "0s"], "--load-test"),
        (["--load-test", "30s", "--load-test-concurrency", "0"], "--load-test-concurrency"),
        (["--load-test-concurrency", "4"], "--load-test-concurrency"),
        (["--load-test", "30s", "--use-templates"], "--load-test"),
        (["--rollout", "blue-green"], "--rollout 'blue-green'"),
        (["--rollout", "canary:100"], "--rollout canary:100"),
        (["--rollout", "canary:"], "--rollout 'canary:'"),
        (["--rollout", "canary", "--fan-in", "sync"], "--rollout canary"),
        (["--serve", "ensemble:2", "--rollout", "canary"], "--serve ensemble"),
        (["--serve", "ensemble:2:"], "--serve 'ensemble:2:'"),
        (["--work-dir", "here"], "--work-dir"),  # --local's, not --submit's: it would be ignored
    ],
)
def test_bad_option_is_one_clear_line_and_nothing_submitted(options, field, tripwire_server):
    server, calls = tripwire_server
    result = run_e2e(*options, "--submit", ARGO_SERVER=server, ARGO_TOKEN="t")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}:"), result.stderr
    assert result.stdout == ""
    assert calls == []


def run_e2e(*options: str, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "flows/e2e.py", *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=child_environment(**environment),
    )


@pytest.mark.parametrize("option, field", [("--workers", "workers"), ("--epochs", "epochs")])
def test_a_number_out_of_range_names_the_allowed_range(option, field):
    limits = LIMITS[field]
    for value in (limits.low - 1, limits.high + 1):
        result = run_e2e(option, str(value))
        assert result.stderr == (
            f"error: {option}: {value} is out of range; use a whole number from {limits.low} to "
            f"{limits.high}\n"
        )
    assert run_e2e(option, str(limits.high)).returncode == 0


@pytest.mark.parametrize(
    "options",
    [["--wait"], ["--via", "kube"], ["--argo-server", "http://x"], ["--local", "--wait"]],
)
def test_an_option_of_submit_without_it_is_refused_not_ignored(options, tmp_path):
    result = run_e2e(*options, "--output", str(tmp_path / "wf.yaml"))
    option = next(o for o in options if o != "--local")
    assert result.returncode == 2
    assert (
        result.stderr == f"error: {option}: it is an option of --submit; add --submit, or drop it\n"
    )
    assert result.stdout == "" and not (tmp_path / "wf.yaml").exists()
