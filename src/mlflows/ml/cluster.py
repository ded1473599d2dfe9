"""This process's place in the training cluster, read from ``TF_CONFIG``.

The TFJob operator sets, for a Worker-only job, ``{"cluster": {"worker": ["host:port", ...]},
"task": {"type": "worker", "index": i}}``; worker 0 is then the chief (a job with a ``chief``
task has that one as chief instead). Without ``TF_CONFIG`` the process is a one-worker cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from mlflows.errors import UserError

EXAMPLE = '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}'


@dataclass(frozen=True)
class Role:
    task_type: str
    index: int
    num_workers: int
    is_chief: bool

    @property
    def name(self) -> str:
        return f"{self.task_type} {self.index}"


# A process without TF_CONFIG: the whole cluster, so its chief.
ONE_WORKER = Role("worker", 0, 1, is_chief=True)


def _invalid(why: str) -> UserError:
    return UserError(f"TF_CONFIG: {why}; set it as the TFJob operator does: {EXAMPLE}")


def role_from_env(environ: Mapping[str, str] = os.environ) -> Role:
    raw = environ.get("TF_CONFIG", "").strip()
    if not raw:
        return ONE_WORKER
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        task_type, index = str(task["type"]), int(task["index"])
        members = {kind: list(addresses) for kind, addresses in cluster.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise _invalid(f"cannot read it ({type(err).__name__}: {err})") from None
    if not 0 <= index < len(members.get(task_type, [])):
        raise _invalid(f"task {task_type} {index} is not in the cluster {members}")
    has_chief = bool(members.get("chief"))
    is_chief = task_type == "chief" or (not has_chief and task_type == "worker" and index == 0)
    num_workers = len(members.get("chief", [])) + len(members.get("worker", []))
    return Role(task_type, index, num_workers, is_chief)
