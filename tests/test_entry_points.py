"""Every ``python -m MODULE ARGS`` a rendered workflow runs (in a container, a script or a TFJob's
workers) names a module of this package whose own argument parser accepts those arguments, so an
image built from this package runs what the workflow asks of it."""

from __future__ import annotations

import contextlib
import importlib
import io
import re

import pytest
import yaml
from repo_workflows import EXAMPLES, example_workflow

from mlflows.canary import Canary
from mlflows.errors import UserError
from mlflows.load_testing import LoadTest
from mlflows.ml import verify
from mlflows.rendering import render


def python_invocations(manifest: dict) -> list[tuple[str, list[str]]]:
    """(module, args) for every container that runs ``python -m module``, with the parameters
    substituted as Argo would: workflow parameters from the workflow's arguments, a template's
    inputs from the arguments a task or step passes it."""
    workflow_parameters = {
        p["name"]: p["value"] for p in manifest["spec"].get("arguments", {}).get("parameters", [])
    }
    callers: dict[str, tuple[str, dict[str, str]]] = {}  # callee -> (caller, arguments)
    for template in manifest["spec"]["templates"]:
        calls = template.get("dag", {}).get("tasks", []) + [
            step for group in template.get("steps", []) for step in group
        ]
        for call in calls:
            arguments = {
                p["name"]: p["value"] for p in call.get("arguments", {}).get("parameters", [])
            }
            callers[call["template"]] = (template["name"], arguments)

    def inputs_of(name: str) -> dict[str, str]:
        if name not in callers:
            return {}
        caller, arguments = callers[name]
        return {key: substitute(value, inputs_of(caller)) for key, value in arguments.items()}

    def substitute(arg: str, inputs: dict[str, str]) -> str:
        arg = re.sub(r"\{\{inputs\.parameters\.([-\w]+)\}\}", lambda m: inputs[m[1]], arg)
        arg = re.sub(
            r"\{\{workflow\.parameters\.([-\w]+)\}\}", lambda m: workflow_parameters[m[1]], arg
        )
        # Outputs of other steps (an accuracy, a URL) exist only at run time.
        return re.sub(r"\{\{(tasks|steps)\.[^}]*\}\}", "0.5", arg)

    found = []
    for template in manifest["spec"]["templates"]:
        containers = [template["container"]] if "container" in template else []
        if "resource" in template:
            job = yaml.safe_load(template["resource"]["manifest"])
            for replica in job.get("spec", {}).get("tfReplicaSpecs", {}).values():
                containers.extend(replica["template"]["spec"]["containers"])
        for container in containers:
            argv = [*container.get("command", []), *container.get("args", [])]
            if argv[:2] == ["python", "-m"]:
                inputs = inputs_of(template["name"])
                found.append((argv[2], [substitute(arg, inputs) for arg in argv[3:]]))
    return found


def rendered_invocations(e2e) -> list[tuple[str, list[str]]]:
    found = []
    # The static fan-out, whose arguments are all known before a run (the loop's come from
    # its items); both build their containers with the same Workloads methods.
    for asynchronous in (True, False):
        workflow = e2e.build_workflow(asynchronous=asynchronous, loop=False)
        found += python_invocations(render(workflow))
    found += python_invocations(render(e2e.build_workflow(loop=False, load=LoadTest())))
    found += python_invocations(render(e2e.build_workflow(loop=False, rollout=Canary())))
    for example in EXAMPLES:
        found += python_invocations(render(example_workflow(example)))
    return found


def test_the_e2e_flow_calls_every_ml_entry_point(e2e):
    called = {module for module, _ in rendered_invocations(e2e)}
    assert called == {
        "mlflows.ml.ingest",
        "mlflows.ml.train",
        "mlflows.ml.select",
        "mlflows.ml.client",
        "mlflows.ml.load_test",
        "mlflows.ml.verify",
    }


def test_each_invocation_parses(e2e):
    invocations = rendered_invocations(e2e)
    assert len(invocations) >= 8
    for module_name, args in invocations:
        module = importlib.import_module(module_name)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            try:
                module.parse_args(args)
            except (SystemExit, UserError) as err:
                pytest.fail(f"{module_name} rejects {args}: {err} {stderr.getvalue()}")


def test_a_wrong_flag_is_caught(e2e):
    """The check above can fail: a flag the entry point does not know is rejected."""
    module_name, args = next(i for i in rendered_invocations(e2e) if i[0] == "mlflows.ml.train")
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises((SystemExit, UserError)):
        importlib.import_module(module_name).parse_args([*args, "--learning-rte", "0.1"])


def test_verify_is_given_the_offline_accuracy_promote_was_given(e2e):
    """The canary's verify call carries the model's evaluated accuracy through the rollout."""
    [(_, args)] = [i for i in rendered_invocations(e2e) if i[0] == "mlflows.ml.verify"]
    assert verify.parse_args(args).offline_accuracy == 0.5  # evaluate's output, substituted
