"""The ``http`` template against a real loopback server: the request as sent, the result, and
the node's phase by status code or ``successCondition``."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from localrun_helpers import by_display_name, dag, inputs, sh, task, workflow

from mlflows.errors import UserError
from mlflows.local.spec.fields import NotRunnableHere


class Echo(BaseHTTPRequestHandler):
    """Answers /status/<code> with that code, and a JSON echo of the request as the body."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "token": self.headers.get("X-Token"),
                "body": self.rfile.read(length).decode(),
            }
        ).encode()
        code = int(self.path.rsplit("/", 1)[1]) if self.path.startswith("/status/") else 200
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Served-By", "echo")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def http(name, **fields):
    return {
        "name": name,
        "inputs": inputs("url"),
        "http": {"url": "{{inputs.parameters.url}}", **fields},
    }


def call(name, template, url, **fields):
    return task(name, template, arguments={"parameters": [{"name": "url", "value": url}]}, **fields)


def test_requests_conditions_and_results(run_local, server):
    wf = workflow(
        dag(
            "main",
            call("post", "post", f"{server}/items"),
            call("created", "is-201", f"{server}/status/201"),
            call("not-created", "is-201", f"{server}/status/200", continueOn={"failed": True}),
            call("plain-404", "get", f"{server}/status/404", continueOn={"failed": True}),
            call("header", "served-by-echo", f"{server}/x"),
            task(
                "use",
                "print",
                depends="post",
                arguments={"parameters": [{"name": "m", "value": "{{tasks.post.outputs.result}}"}]},
            ),
        ),
        http(
            "post",
            method="POST",
            headers=[{"name": "X-Token", "value": "t0k"}],
            body='{"n": 1}',
            successCondition='response.statusCode == 200 && response.body contains "t0k"',
        ),
        http("is-201", successCondition="response.statusCode == 201", timeoutSeconds=5),
        http("get"),
        http("served-by-echo", successCondition='response.headers["X-Served-By"][0] == "echo"'),
        sh("print", "echo '{{inputs.parameters.m}}'", inputs=inputs("m")),
    )
    result = run_local(wf)
    assert result.phase == "Succeeded"
    nodes = by_display_name(result)
    phases = {name: (node["type"], node["phase"]) for name, node in nodes.items()}
    assert phases == {
        result.name: ("DAG", "Succeeded"),
        "post": ("HTTP", "Succeeded"),
        "created": ("HTTP", "Succeeded"),
        "not-created": ("HTTP", "Failed"),
        "plain-404": ("HTTP", "Failed"),
        "header": ("HTTP", "Succeeded"),
        "use": ("Pod", "Succeeded"),
    }
    sent = json.loads(nodes["post"]["outputs"]["result"])
    assert sent == {"method": "POST", "path": "/items", "token": "t0k", "body": '{"n": 1}'}
    assert "evaluated false (status 200)" in nodes["not-created"]["message"]
    assert nodes["plain-404"]["message"] == "received non-2XX response code: 404"
    assert json.loads(nodes["plain-404"]["outputs"]["result"])["path"] == "/status/404"


def test_an_unreachable_url_errs_the_node_in_one_line(run_local):
    closed = "http://127.0.0.1:9/x"  # the discard port: nothing listens on it here
    result = run_local(workflow(dag("main", call("down", "get", closed)), http("get")))
    assert result.phase == "Error"  # the DAG takes its task's Error
    node = by_display_name(result)["down"]
    assert (node["type"], node["phase"]) == ("HTTP", "Error")
    assert node["message"].startswith(f'Get "{closed}": ')
    assert "\n" not in node["message"]


def test_a_url_that_is_not_http_is_refused(run_local):
    wf = workflow({"name": "main", "http": {"url": "ftp://example.org/x"}})
    with pytest.raises(
        UserError,
        match=r"template main: http.url 'ftp://\S+': give an http:// or https:// URL",
    ):
        run_local(wf)


def test_header_secrets_are_refused(run_local):
    header = {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    wf = workflow({"name": "main", "http": {"url": "http://127.0.0.1:1/", "headers": [header]}})
    with pytest.raises(NotRunnableHere, match=r"http.headers\[A\]: valueFrom is not supported"):
        run_local(wf)
