"""The ``http`` template: one real request, as Argo's agent makes it (workflow/executor/agent.go
``executeHTTPTemplate``).

The request has the template's method (GET when empty), url, headers and body and times out
after ``timeoutSeconds`` (30 by default). The node succeeds on a 2xx answer or, with a
``successCondition``, when that expr-lang condition holds over ``request`` and ``response``
(``response.statusCode``, ``response.body`` as text, ``response.headers`` as Go's
``http.Header``: canonical names to lists of values). ``outputs.result`` is the body. A request
that gets no answer ends the node Error with Go's ``Get "<url>": ...`` form.
"""

from __future__ import annotations

import base64
import threading
from typing import TYPE_CHECKING, Any

from mlflows.errors import UserError
from mlflows.local.controller.nodes import Outputs, Phase
from mlflows.local.controller.stop import StopEvent
from mlflows.local.lang import exprlang
from mlflows.local.lang.exprlang import ExprError
from mlflows.local.lang.templating import TAG
from mlflows.local.spec.fields import check_fields, named, refuse

if TYPE_CHECKING:
    import urllib.request

HTTP_FIELDS = {
    "url",
    "method",
    "headers",
    "body",
    "bodyFrom",
    "timeoutSeconds",
    "successCondition",
    "insecureSkipVerify",
}
DEFAULT_TIMEOUT_SECONDS = 30


def check(where: str, http) -> None:
    """Before the run: the fields this runner sends, a url it can reach, a condition it can
    evaluate."""
    here = f"{where}: http"
    http = check_fields(here, http, HTTP_FIELDS)
    url = http.get("url")
    if not isinstance(url, str) or not url:
        raise UserError(f"{here}.url is missing; give the URL to request")
    if not TAG.search(url) and not url.startswith(("http://", "https://")):
        raise UserError(f"{here}.url {url!r}: give an http:// or https:// URL")
    for header in named(f"{here}.headers", http.get("headers"), {"name", "value", "valueFrom"}):
        if "valueFrom" in header:
            raise refuse(f"{here}.headers[{header['name']}]", "valueFrom", "give the value")
    check_fields(f"{here}.bodyFrom", http.get("bodyFrom"), {"bytes"})
    if http.get("insecureSkipVerify"):
        raise refuse(here, "insecureSkipVerify", "serve a certificate this machine trusts")
    seconds = http.get("timeoutSeconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
        raise UserError(f"{here}.timeoutSeconds {seconds!r}: give a whole number of seconds")
    condition = http.get("successCondition")
    if condition and not TAG.search(condition):
        try:
            exprlang.check(condition)
        except ExprError as err:
            raise UserError(f"{here}.successCondition: {err}") from None


def _header_map(headers) -> dict[str, list[str]]:
    """Go's http.Header: each canonical name (``Content-Type``) with its values."""
    found: dict[str, list[str]] = {}
    for name, value in headers.items():
        canonical = "-".join(part.capitalize() for part in name.split("-"))
        found.setdefault(canonical, []).append(value)
    return found


def _send(request: urllib.request.Request, timeout: float) -> tuple[int, bytes, Any]:
    import urllib.error

    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as answered:  # a 4xx/5xx is an answer, not a failure
        return answered.code, answered.read(), answered.headers


def run_http(http: dict, cancel: StopEvent, cancel_reason) -> tuple[Phase, str, Outputs]:
    """Make the request; the node's phase, message and outputs."""
    method = (http.get("method") or "GET").upper()
    url = http["url"]
    body = http.get("body") or ""
    data = body.encode() if body else None
    if (http.get("bodyFrom") or {}).get("bytes"):
        data = base64.b64decode(http["bodyFrom"]["bytes"])
    headers = {header["name"]: str(header.get("value", "")) for header in http.get("headers") or []}
    import urllib.request  # http.client and ssl: only when a request is made (start-up cost)

    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    timeout = http.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS
    answer: dict = {}

    def send() -> None:
        try:
            answer["response"] = _send(request, timeout)
        except (OSError, ValueError) as err:  # URLError, timeouts, refused connections
            answer["error"] = getattr(err, "reason", err)
        finally:
            finished.set()

    finished = threading.Event()
    threading.Thread(target=send, name="http", daemon=True).start()
    with cancel.listening(finished.set):
        finished.wait()
    if "response" not in answer and "error" not in answer:
        return Phase.FAILED, cancel_reason(), Outputs()
    if "error" in answer:
        return Phase.ERROR, f'{method.capitalize()} "{url}": {answer["error"]}', Outputs()
    status, raw, response_headers = answer["response"]
    text = raw.decode(errors="replace")
    outputs = Outputs(result=text)
    condition = http.get("successCondition")
    if not condition:
        if 200 <= status < 300:
            return Phase.SUCCEEDED, "", outputs
        return Phase.FAILED, f"received non-2XX response code: {status}", outputs
    env = {
        "request": {"method": method, "url": url, "body": body, "headers": _header_map(headers)},
        "response": {
            "statusCode": status,
            "body": text,
            "headers": _header_map(response_headers),
        },
    }
    try:
        holds = exprlang.evaluate_bool(condition, env)
    except ExprError as err:
        return Phase.ERROR, f"successCondition: {err}", outputs
    if holds:
        return Phase.SUCCEEDED, "", outputs
    return (
        Phase.FAILED,
        f"successCondition {condition!r} evaluated false (status {status})",
        outputs,
    )
