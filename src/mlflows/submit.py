"""Submitting a rendered Workflow (or CronWorkflow) to a cluster, and following it to its end.

Two ways in, both sending the manifest exactly as rendered (and as it would be printed):

- ``--via argo`` (default): the Argo Server's REST API, ``POST /api/v1/workflows/{namespace}``
  (a CronWorkflow: ``POST /api/v1/cron-workflows/{namespace}``),
  through Hera's ``WorkflowsService``: its session, its ``Bearer`` token handling, its TLS and
  client-certificate settings. Not through ``WorkflowsService.create_workflow`` itself: that
  parses the manifest into Hera's v4 models first, which silently drops what they lack (v3.7's
  ``memoize.cache.configMap.key``) and rejects ``{{...}}`` where a model has a number. So the
  request ``create_workflow`` would make is made with the service's own ``_request``, the same
  URL, headers, ``verify`` and ``cert``, and the dict as the body.
- ``--via kube``: the Kubernetes API with the kubeconfig (``$KUBECONFIG``, ``~/.kube/config``,
  or in-cluster), creating the ``workflows.argoproj.io`` (``cronworkflows.argoproj.io``) object
  as ``kubectl create -f`` does.

The namespace, first found: the flow's ``--namespace``; the manifest's ``metadata.namespace``;
``$ARGO_NAMESPACE``; the kubeconfig context's namespace (``--via kube``); ``argo``. A
``--namespace`` that contradicts ``metadata.namespace`` is an error (``kubectl`` refuses it too),
and the namespace is checked before anything is sent.

Before creating it, the WorkflowTemplates and ClusterWorkflowTemplates its templateRefs name are
looked up; those the server does not have are named in one ``warning:`` line (Argo would refuse
or fail the workflow for them), with how to create mlflows' own library.

Every problem (nothing to connect to, a refused token, a name taken...) is a UserError of one
line naming what is wrong; the token is never printed, and never sent elsewhere: a redirect to
another host is refused, not followed with the workflow and the token.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import SplitResult, urljoin, urlsplit

import requests
import urllib3
from hera.workflows.service import WorkflowsService
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from mlflows.errors import UserError
from mlflows.names import k8s_name
from mlflows.output import write_stdout
from mlflows.watch import NeverStarted, follow, print_node_phase

DEFAULT_NAMESPACE = "argo"
REQUEST_TIMEOUT = (10.0, 60.0)  # seconds to connect, to read an answer
START_TIMEOUT = 120.0  # seconds --wait gives a controller to take the workflow up
MESSAGE_LIMIT = 200  # characters of a server's error message worth showing
GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"  # the Workflow resource
MISSING_SHOWN = 3  # names of missing WorkflowTemplates a warning lists


@dataclass(frozen=True)
class Submittable:
    """A kind that can be submitted: its Kubernetes resource and its Argo Server API."""

    kind: str
    plural: str  # the Kubernetes resource
    api: str  # the Argo Server's path: api/v1/<api>/{namespace}
    body_key: str  # the object's key in the Argo Server's create request


SUBMITTABLE = {
    kind.kind: kind
    for kind in (
        Submittable("Workflow", "workflows", "workflows", "workflow"),
        Submittable("CronWorkflow", "cronworkflows", "cron-workflows", "cronWorkflow"),
    )
}


@dataclass(frozen=True)
class TemplateName:
    """A WorkflowTemplate (or, cluster-scoped, a ClusterWorkflowTemplate) a workflow calls."""

    name: str
    cluster_scope: bool

    @property
    def kind(self) -> str:
        return "ClusterWorkflowTemplate" if self.cluster_scope else "WorkflowTemplate"


# --- command-line options -------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The submit options of a flow; the flow's own ``--namespace`` is read too, when it has one."""
    parser.add_argument(
        "--submit",
        action="store_true",
        help="create the Workflow on a cluster instead of printing it",
    )
    parser.add_argument(
        "--via",
        choices=("argo", "kube"),
        default="argo",
        help="argo: the Argo Server's API ($ARGO_SERVER, $ARGO_TOKEN); "
        "kube: the Kubernetes API with the kubeconfig, as kubectl create does",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="follow the workflow to its end, printing each node's phase as it changes; "
        "exit non-zero unless it succeeds",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often --wait asks for the workflow's status (default: %(default)s)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=START_TIMEOUT,
        metavar="SECONDS",
        help="how long --wait gives a workflow controller to take the workflow up (give it a "
        "phase) before giving up (default: %(default)s)",
    )
    # Defaults are read when submitting, so that --help never shows the token.
    parser.add_argument(
        "--argo-server",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="the Argo Server, e.g. https://localhost:2746 (default: $ARGO_SERVER)",
    )
    parser.add_argument(
        "--argo-token",
        default=argparse.SUPPRESS,
        metavar="TOKEN",
        help="bearer token for the Argo Server (default: $ARGO_TOKEN)",
    )
    parser.add_argument(
        "--insecure-skip-tls-verify",
        action="store_true",
        help="do not verify the server's TLS certificate (also: ARGO_INSECURE_SKIP_VERIFY=true)",
    )


def submit_from_args(manifest: dict, args: argparse.Namespace) -> int:
    """Submit ``manifest`` as the options say, print the workflow's name, and with ``--wait``
    follow it: 0 when it succeeded (or was only submitted), 1 when it ended Failed or Error."""
    if args.wait and manifest.get("kind") == "CronWorkflow":
        raise UserError(
            "--wait: a CronWorkflow starts its runs on its schedule, there is none to follow "
            "now; drop --wait (argo cron get NAME shows its runs)"
        )
    for option, seconds in (
        ("--poll-interval", args.poll_interval),
        ("--start-timeout", args.start_timeout),
    ):
        if not 0 <= seconds < math.inf:  # checked before submitting; nan fails too
            raise UserError(f"{option}: give a number of seconds, 0 or more, not {seconds}")
    client = connect(
        args.via,
        getattr(args, "argo_server", None),
        getattr(args, "argo_token", None),
        verify_tls=not args.insecure_skip_tls_verify,
    )
    created = _create(client, manifest, getattr(args, "namespace", None))
    write_stdout(f"{created.name}\n")
    if not args.wait:
        return 0
    final = _follow(client, created, print_node_phase, args.poll_interval, args.start_timeout)
    status = final.get("status") or {}
    message = f": {status['message']}" if status.get("message") else ""
    print(f"workflow {created.name} {status.get('phase')}{message}", flush=True)
    return 0 if status.get("phase") == "Succeeded" else 1


# --- the API --------------------------------------------------------------------------------


def submit(
    manifest: dict,
    *,
    via: str = "argo",
    server: str | None = None,
    token: str | None = None,
    namespace: str | None = None,
    verify_tls: bool = True,
) -> str:
    """Create the Workflow (or CronWorkflow) ``manifest``; returns its name (the server's, for a
    generateName)."""
    return _create(connect(via, server, token, verify_tls), manifest, namespace).name


def watch(
    name: str,
    namespace: str,
    *,
    via: str = "argo",
    server: str | None = None,
    token: str | None = None,
    verify_tls: bool = True,
    interval: float = 5.0,
    start_timeout: float = START_TIMEOUT,
    on_change: Callable[[str, str], None] = print_node_phase,
) -> str:
    """Follow workflow ``name`` until it ends, calling ``on_change(node, phase)`` on each change;
    returns its final phase (Succeeded, Failed or Error)."""
    namespace = k8s_name(namespace, "namespace")
    client = connect(via, server, token, verify_tls)
    workflow = _follow(client, Created(name, namespace), on_change, interval, start_timeout)
    return workflow["status"]["phase"]


class WorkflowClient(Protocol):
    default_namespace: str | None

    def create(self, kind: Submittable, manifest: dict, namespace: str) -> dict: ...

    def get(self, name: str, namespace: str) -> dict: ...

    def has_template(self, template: TemplateName, namespace: str) -> bool | None:
        """Whether the server has ``template``; None when it does not say (a refusal)."""


def connect(
    via: str = "argo", server: str | None = None, token: str | None = None, verify_tls: bool = True
) -> WorkflowClient:
    """A client for ``via``; ``server`` and ``token`` default to $ARGO_SERVER and $ARGO_TOKEN.
    Nothing is sent yet."""
    if via == "argo":
        insecure = os.environ.get("ARGO_INSECURE_SKIP_VERIFY", "").lower() == "true"
        token, source = (
            (token, "--argo-token") if token else (os.environ.get("ARGO_TOKEN"), "ARGO_TOKEN")
        )
        return ArgoServerClient(
            argo_server_url(server),
            _check_token(token or None, source),
            verify_tls=verify_tls and not insecure,
        )
    if via == "kube":
        return KubernetesClient(verify_tls=verify_tls)
    raise ValueError(f"via must be 'argo' or 'kube', not {via!r}")


@dataclass(frozen=True)
class Created:
    name: str
    namespace: str


def _create(client: WorkflowClient, manifest: dict, namespace: str | None) -> Created:
    metadata = manifest.get("metadata") or {}
    kind = SUBMITTABLE.get(manifest.get("kind", "Workflow"))
    if kind is None:
        raise UserError(
            f"kind: only a {' or a '.join(SUBMITTABLE)} can be submitted, not a {manifest['kind']}"
        )
    if not isinstance(metadata, dict):
        raise UserError(f"metadata: expected a mapping, not {metadata!r}")
    for field in ("name", "generateName"):
        if metadata.get(field) is not None and not isinstance(metadata[field], str):
            raise UserError(f"metadata.{field}: give a string, not {metadata[field]!r}")
    if not (metadata.get("name") or metadata.get("generateName")):
        raise UserError("metadata: the workflow has neither name nor generateName")
    namespace = resolve_namespace(metadata.get("namespace"), namespace, client.default_namespace)
    _warn_of_missing_templates(client, manifest, namespace)
    created = client.create(kind, manifest, namespace)
    name = (created.get("metadata") or {}).get("name")
    if not name:
        raise UserError("the server created the workflow but answered without its name")
    return Created(name, namespace)


def _follow(
    client: WorkflowClient,
    workflow: Created,
    on_change: Callable[[str, str], None],
    interval: float,
    start_timeout: float,
) -> dict:
    try:
        return follow(
            lambda: client.get(workflow.name, workflow.namespace),
            on_change,
            interval,
            start_timeout,
        )
    except NeverStarted:
        raise UserError(
            f"workflow {workflow.name} has no phase {start_timeout:g} s after it was created: no "
            f"workflow controller has taken it up; check that Argo's controller is running and "
            f"watches namespace {workflow.namespace}, or give it longer with --start-timeout"
        ) from None


def called_templates(manifest: dict) -> list[TemplateName]:
    """The WorkflowTemplates and ClusterWorkflowTemplates ``manifest`` calls: by any
    ``templateRef`` of its templates and hooks, or as its ``workflowTemplateRef``; sorted."""
    found: set[TemplateName] = set()

    def visit(node: object) -> None:
        if isinstance(node, dict):
            for key in ("templateRef", "workflowTemplateRef"):
                ref = node.get(key)
                if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                    found.add(TemplateName(ref["name"], ref.get("clusterScope") is True))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(manifest)  # a resource template's manifest is text, so only Argo's own keys are seen
    return sorted(found, key=lambda t: (t.cluster_scope, t.name))


def _warn_of_missing_templates(client: WorkflowClient, manifest: dict, namespace: str) -> None:
    """One ``warning:`` line naming the called templates the server says it does not have."""
    missing = [t for t in called_templates(manifest) if client.has_template(t, namespace) is False]
    if not missing:
        return
    kinds = sorted({t.kind for t in missing})
    names = [t.name for t in missing]
    plural = "s" if len(names) > 1 else ""
    shown = ", ".join(names[:MISSING_SHOWN]) + (
        f" and {len(names) - MISSING_SHOWN} more" if len(names) > MISSING_SHOWN else ""
    )
    where = "" if kinds == ["ClusterWorkflowTemplate"] else f" in namespace {namespace}"
    create = (
        "mlflows templates --cluster"
        if kinds == ["ClusterWorkflowTemplate"]
        else f"mlflows templates --namespace {namespace}"
    )
    print(
        f"warning: {' and '.join(kind + plural for kind in kinds)} {shown} not found{where}, "
        f"which the workflow calls; create them first (mlflows' own: {create} | "
        "kubectl apply -f -)",
        file=sys.stderr,
        flush=True,
    )


def resolve_namespace(
    declared: str | None, requested: str | None, client_default: str | None
) -> str:
    """The namespace to submit to (see the module docstring), checked as a Kubernetes name."""
    if requested and declared and requested != declared:
        raise UserError(
            f"namespace: {requested!r} was asked for but the workflow's metadata.namespace is "
            f"{declared!r}; render it for {requested!r} or submit to {declared!r}"
        )
    from_environment = os.environ.get("ARGO_NAMESPACE")
    namespace = requested or declared or from_environment or client_default or DEFAULT_NAMESPACE
    return k8s_name(namespace, "namespace")


# --- errors shared by both ways in ----------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What was being done, for the one-line message when the server refuses it."""

    action: str  # "create workflows", "read workflow x"
    namespace: str
    name: str | None = None
    kind: str = "Workflow"  # of what is named


def _creating(kind: Submittable, manifest: dict, namespace: str) -> Attempt:
    name = (manifest.get("metadata") or {}).get("name")
    return Attempt(f"create {kind.plural}", namespace, name, kind.kind)


def _reading(name: str, namespace: str) -> Attempt:
    return Attempt(f"read workflow {name}", namespace, name)


@dataclass(frozen=True)
class Server:
    where: str  # "the Argo server at https://..."
    credentials: str  # what to check on a 401
    insecure_hint: str  # how to skip TLS verification


def _refusal(server: Server, attempt: Attempt, status: int, body: str) -> UserError:
    said = _server_message(body)
    said = f": {said}" if said else ""
    phrase = f"{status} {_reason(status)}"
    if status == 401:
        return UserError(f"{server.where} refused the credentials ({phrase}): {server.credentials}")
    if status == 403:
        return UserError(
            f"{server.where} does not allow these credentials to {attempt.action} in namespace "
            f"{attempt.namespace} ({phrase}){said}"
        )
    if status == 409 and attempt.name and attempt.kind == "CronWorkflow":
        return UserError(
            f"a CronWorkflow named {attempt.name} already exists in namespace "
            f"{attempt.namespace} ({phrase}): delete it first (argo cron delete {attempt.name}) "
            "to replace its schedule"
        )
    if status == 409 and attempt.name:
        return UserError(
            f"a workflow named {attempt.name} already exists in namespace {attempt.namespace} "
            f"({phrase}): use metadata.generateName, or choose a new name"
        )
    if status in (400, 422):
        what = "CronWorkflow" if attempt.kind == "CronWorkflow" else "workflow"
        return UserError(f"{server.where} rejected the {what} ({phrase}){said}")
    return UserError(
        f"{server.where} answered {phrase} when asked to {attempt.action} in namespace "
        f"{attempt.namespace}{said}"
    )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "(unknown status)"


def _server_message(body: str) -> str:
    """The message of an Argo (gRPC gateway), Kubernetes (Status) or problem+json error body, or
    the first line of any other (a proxy's HTML error page), cut to MESSAGE_LIMIT characters."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        text = parsed.get("message") or parsed.get("detail") or parsed.get("title") or ""
    else:
        text = _first_line(body)
    text = _one_line(text)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3].rstrip() + "..."


def _first_line(body: str) -> str:
    """An HTML page's title, else the first line of its text (or of plain text)."""
    title = re.search(r"<title[^>]*>(.*?)</title", body, re.IGNORECASE | re.DOTALL)
    if title and title.group(1).strip():
        return html.unescape(title.group(1))
    body = re.sub(r"<(script|style)\b.*?</\1\s*>", "", body, flags=re.IGNORECASE | re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]*>", "\n", body))
    return next((line for line in text.splitlines() if line.strip()), "")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _json_object(server: Server, answer: object) -> dict:
    """``answer`` if it is a JSON object (a Workflow); a URL that reaches some other service
    gets an answer that is not."""
    if not isinstance(answer, dict):
        raise UserError(f"{server.where} answered with something that is not a JSON object")
    return answer


@contextmanager
def _quiet_when_unverified(verify_tls: bool) -> Iterator[None]:
    """Without urllib3's warning on every unverified request: skipping was asked for explicitly."""
    with warnings.catch_warnings():
        if not verify_tls:
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield


def _unreachable(server: Server, error: Exception, tls_failed: bool) -> UserError:
    text = str(error)
    if tls_failed:
        found = re.search(r"\[SSL: \w+\] ([^('\")]+)", text)
        reason = found.group(1).strip() if found else "TLS handshake failed"
        return UserError(
            f"cannot verify the TLS certificate of {server.where} ({reason}); "
            f"only if you trust it, {server.insecure_hint}"
        )
    found = re.search(r"\[Errno -?\d+\] ([^('\")]+)", text)
    if found:
        reason = found.group(1).strip()
    else:
        reason = "timed out" if "timed out" in text.lower() else "the connection failed"
    return UserError(f"cannot reach {server.where}: {reason}")


# --- the Argo Server ------------------------------------------------------------------------


def _check_token(token: str | None, source: str) -> str | None:
    """``token`` if an HTTP header can carry it: printable ASCII on one line (a token file read
    with its newline is the usual mistake); else a UserError naming where it came from."""
    odd = next((c for c in token or "" if not " " <= c <= "~"), None)
    if odd is None:
        return token
    what = (
        "a line break" if odd in "\r\n"
        else "a character that is not ASCII" if odd > "~"
        else "a control character"
    )  # fmt: skip
    raise UserError(f"{source} is malformed: it holds {what}; give the token alone, on one line")


def argo_server_url(server: str | None) -> str:
    """The Argo Server's base URL from ``server`` or $ARGO_SERVER; like the argo CLI, a bare
    ``host:port`` means HTTPS unless ARGO_SECURE=false."""
    server = (server or os.environ.get("ARGO_SERVER") or "").strip()
    if not server:
        raise UserError(
            "ARGO_SERVER is not set: set it to the Argo Server's URL (e.g. https://localhost:2746) "
            "or pass --argo-server, or submit with --via kube"
        )
    if "://" not in server:
        scheme = "http" if os.environ.get("ARGO_SECURE", "").lower() == "false" else "https"
        server = f"{scheme}://{server}"
    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018 (ValueError unless the port is a number up to 65535)
    except ValueError as err:
        raise UserError(f"argo server: {server!r} is not a valid URL: {err}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"argo server: {server!r} is not an http:// or https:// URL")
    return server.rstrip("/") + "/"


class ArgoServerClient:
    default_namespace = None

    def __init__(self, url: str, token: str | None, verify_tls: bool):
        self.service = WorkflowsService(host=url, token=token, verify_ssl=verify_tls)
        self.server = Server(
            where=f"the Argo server at {url}",
            credentials="check ARGO_TOKEN or --argo-token"
            if self.service.token
            else "it needs a token: set ARGO_TOKEN or pass --argo-token",
            insecure_hint="pass --insecure-skip-tls-verify (or set ARGO_INSECURE_SKIP_VERIFY=true)",
        )

    def create(self, kind: Submittable, manifest: dict, namespace: str) -> dict:
        body = {"namespace": namespace, kind.body_key: manifest}
        return self._request(
            "post", f"api/v1/{kind.api}/{namespace}", _creating(kind, manifest, namespace), body
        )

    def get(self, name: str, namespace: str) -> dict:
        return self._request(
            "get", f"api/v1/workflows/{namespace}/{name}", _reading(name, namespace)
        )

    def has_template(self, template: TemplateName, namespace: str) -> bool | None:
        path = (
            f"api/v1/cluster-workflow-templates/{template.name}"
            if template.cluster_scope
            else f"api/v1/workflow-templates/{namespace}/{template.name}"
        )
        status = self._send("get", path).status_code
        return True if status == 200 else False if status == 404 else None

    def _request(self, method: str, path: str, attempt: Attempt, body: dict | None = None) -> dict:
        response = self._send(method, path, body)
        if not response.ok:
            raise _refusal(self.server, attempt, response.status_code, response.text)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        return _json_object(self.server, answer)

    def _send(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        # The request WorkflowsService.create_workflow/get_workflow make, with a dict body.
        service = self.service
        try:
            with _quiet_when_unverified(service.verify_ssl):
                response = service._request(
                    method,
                    url=urljoin(service.host, path),
                    headers={"Authorization": service.token, "Content-Type": "application/json"},
                    data=None if body is None else json.dumps(body),
                    verify=service.verify_ssl,
                    cert=service.client_certs,
                    timeout=REQUEST_TIMEOUT,
                    hooks={"response": self._refuse_redirect_elsewhere},
                )
        except requests.exceptions.RequestException as err:
            raise _unreachable(
                self.server, err, isinstance(err, requests.exceptions.SSLError)
            ) from None
        return response

    def _refuse_redirect_elsewhere(self, response: requests.Response, **_: object) -> None:
        """Called on each answer before requests follows a redirect, which would re-send the
        workflow (307, 308) and the token to wherever it points."""
        if not response.is_redirect:
            return
        target = urlsplit(urljoin(response.url, response.headers["Location"]))
        if _origin(target) != _origin(urlsplit(response.url)):
            raise UserError(
                f"{self.server.where} redirected to {target.scheme}://"
                f"{target.netloc.rpartition('@')[2]} ({response.status_code} "
                f"{_reason(response.status_code)}); the workflow and the token are not sent to "
                "another host: if that is the Argo server, set ARGO_SERVER to it"
            )


def _origin(url: SplitResult) -> tuple[str, str | None, int | None] | None:
    """Scheme, host and port, as browsers compare them; None for a URL with a bad port."""
    try:
        port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    except ValueError:
        return None
    return url.scheme, url.hostname, port


# --- the Kubernetes API ---------------------------------------------------------------------


class KubernetesClient:
    def __init__(self, verify_tls: bool):
        configuration = kube_client.Configuration()
        self.default_namespace = _load_kube_configuration(configuration)
        configuration.verify_ssl = configuration.verify_ssl and verify_tls
        self.verify_tls = configuration.verify_ssl
        self.server = Server(
            where=f"the Kubernetes API server at {configuration.host}",
            credentials="check the user of the kubeconfig's current context",
            insecure_hint="pass --insecure-skip-tls-verify",
        )
        self.api = kube_client.CustomObjectsApi(kube_client.ApiClient(configuration))

    def create(self, kind: Submittable, manifest: dict, namespace: str) -> dict:
        return self._call(
            _creating(kind, manifest, namespace),
            lambda: self.api.create_namespaced_custom_object(
                GROUP, VERSION, namespace, kind.plural, manifest, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def get(self, name: str, namespace: str) -> dict:
        return self._call(
            _reading(name, namespace),
            lambda: self.api.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def has_template(self, template: TemplateName, namespace: str) -> bool | None:
        plural = template.kind.lower() + "s"
        try:
            with _quiet_when_unverified(self.verify_tls):
                if template.cluster_scope:
                    self.api.get_cluster_custom_object(
                        GROUP, VERSION, plural, template.name, _request_timeout=REQUEST_TIMEOUT
                    )
                else:
                    self.api.get_namespaced_custom_object(
                        GROUP,
                        VERSION,
                        namespace,
                        plural,
                        template.name,
                        _request_timeout=REQUEST_TIMEOUT,
                    )
        except kube_client.ApiException as err:
            return False if err.status == 404 else None
        except urllib3.exceptions.HTTPError:
            return None  # creating it says why, in its one line
        return True

    def _call(self, attempt: Attempt, call: Callable[[], Any]) -> dict:
        try:
            with _quiet_when_unverified(self.verify_tls):
                answer = call()
        except kube_client.ApiException as err:
            raise _refusal(self.server, attempt, err.status, err.body or err.reason or "") from None
        except urllib3.exceptions.HTTPError as err:
            tls_failed = isinstance(getattr(err, "reason", None), urllib3.exceptions.SSLError)
            raise _unreachable(self.server, err, tls_failed) from None
        return _json_object(self.server, answer)


def _load_kube_configuration(configuration: kube_client.Configuration) -> str | None:
    """Fill ``configuration`` from the kubeconfig as kubectl would, or from the pod's service
    account inside a cluster; returns the current context's namespace, if it names one."""
    # The library reads $KUBECONFIG once, when imported: read it now (it may list several files).
    config_file = os.environ.get("KUBECONFIG") or None
    try:
        kube_config.load_kube_config(config_file, client_configuration=configuration)
        _, active = kube_config.list_kube_config_contexts(config_file)
        return active.get("context", {}).get("namespace")
    except Exception as err:  # ConfigException, or what a malformed file makes the library
        # raise as it reads it: YAMLError, OSError (a directory), TypeError (a list)...
        problem = _one_line(err)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            kube_config.load_incluster_config(client_configuration=configuration)
            return None
        except kube_config.ConfigException as err:
            problem += f"; in-cluster: {_one_line(err)}"
    raise UserError(
        f"--via kube: no usable kubeconfig ({problem}); set KUBECONFIG or create ~/.kube/config "
        "(kubectl config view shows it), or use --via argo"
    )
