"""Small workflows for the local runner's tests: builders and a report reader."""

from __future__ import annotations

from datetime import datetime


def workflow(*templates: dict, entrypoint: str = "main", **spec) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "t-"},
        "spec": {"entrypoint": entrypoint, "templates": list(templates), **spec},
    }


def sh(name: str, script: str, **template) -> dict:
    """A container template running ``sh -c script``."""
    return {
        "name": name,
        "container": {"image": "alpine", "command": ["sh", "-c"], "args": [script]},
        **template,
    }


def inputs(*names: str) -> dict:
    return {"parameters": [{"name": name} for name in names]}


def args(**values: str) -> dict:
    return {"parameters": [{"name": k.replace("_", "-"), "value": v} for k, v in values.items()]}


def dag(name: str, *tasks: dict, **template) -> dict:
    return {"name": name, "dag": {"tasks": list(tasks)}, **template}


def task(name: str, template: str, **fields) -> dict:
    return {"name": name, "template": template, **fields}


def seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def by_display_name(result) -> dict[str, dict]:
    """The report's nodes by display name."""
    return {node["displayName"]: node for node in result.status["nodes"].values()}


def interval(node: dict) -> tuple[float, float]:
    return seconds(node["startedAt"]), seconds(node["finishedAt"])
