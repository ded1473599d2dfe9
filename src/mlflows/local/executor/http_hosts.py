"""Before the run: every host an ``http`` template will request can be resolved from here.

On a cluster the agent's request to a host that does not resolve ends the node in Error
(workflow/executor/agent.go ``executeHTTPTemplate``). Here that means this machine has no route to
it (no internet, no such name), which no rerun would change, so the run is refused before anything
starts, in one line naming the template and the host. Where a url is templated, the values its
callers pass (and its inputs' defaults) are tried; a url still holding ``{{...}}`` is known only
at run time and is not checked, and so is one sent through a proxy (``https_proxy``). Names are
looked up at once, for at most :data:`LOOKUP_SECONDS`.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

from mlflows.errors import UserError
from mlflows.local.lang import keys
from mlflows.local.lang.templating import TAG, argo_string, substitute
from mlflows.local.spec.fields import NotRunnableHere
from mlflows.local.spec.templates import TemplateStore, calls

LOOKUP_SECONDS = 3.0


def check_http_hosts(store: TemplateStore) -> None:
    """NotRunnableHere naming the template and host of the first url whose host does not
    resolve."""
    urls = _known_urls(store)
    if not urls:
        return
    import urllib.request  # only for a run with http templates (start-up cost)

    proxies = urllib.request.getproxies()
    urls = [  # a request sent through a proxy needs no name lookup here
        (where, url)
        for where, url in urls
        if urlsplit(url).scheme not in proxies
        or urllib.request.proxy_bypass(urlsplit(url).hostname or "")
    ]
    found = _resolvable({urlsplit(url).hostname or "" for _, url in urls})
    for where, url in urls:
        host = urlsplit(url).hostname or ""
        if not found.get(host):
            raise NotRunnableHere(
                f"{where}: http.url {url}: host {host!r} cannot be resolved from this machine "
                "(no network, or no such name), so the request could not be made; run it where "
                "the host is reachable"
            )


def _known_urls(store: TemplateStore) -> list[tuple[str, str]]:
    """Each http template's url as its callers' literal arguments (else its inputs' defaults)
    make it, where that leaves no ``{{...}}``."""
    urls: list[tuple[str, str]] = []
    reached = store.reached()
    for template in reached:
        if "http" in template.template:
            urls.append((template.where, _url(template.template, {})))
    for caller in reached:
        for where, holder in calls(caller.where, caller.template):
            try:
                _, template = store.resolve(holder, caller.base, where)
            except UserError:  # validate says what is wrong with the call
                continue
            if "http" in template:
                urls.append((where, _url(template, holder.get("arguments") or {})))
    return [
        (where, url)
        for where, url in urls
        if isinstance(url, str) and not TAG.search(url) and url.startswith(("http://", "https://"))
    ]


def _url(template: dict, arguments: dict) -> str:
    scope = {}
    for values in ((template.get("inputs") or {}).get("parameters"), arguments.get("parameters")):
        for param in values or []:
            value = param.get("value", param.get("default")) if isinstance(param, dict) else None
            if value is not None and isinstance(param.get("name"), str):
                scope[keys.INPUTS_PARAMETER(param["name"])] = argo_string(value)
    return substitute((template.get("http") or {}).get("url"), scope)


def _resolvable(hosts: set[str]) -> dict[str, bool]:
    """Whether each host has an address, looked up in parallel; a lookup still going after
    :data:`LOOKUP_SECONDS` counts as failed."""
    found: dict[str, bool] = {}

    def look_up(host: str) -> None:
        try:
            found[host] = bool(socket.getaddrinfo(host, None))
        except (OSError, UnicodeError):
            found[host] = False

    threads = [threading.Thread(target=look_up, args=(host,), daemon=True) for host in hosts]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + LOOKUP_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return dict(found)
