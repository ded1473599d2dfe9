"""Mocks: templates of a workflow replaced by tiny script templates before it runs.

A mocked template keeps its name, inputs, output declarations, ``retryStrategy``, ``memoize``,
``synchronization`` and every other field that is not its body; only the body (a container,
script, resource, DAG, steps or suspend) becomes a short Python script that waits ``delay``
seconds, writes the declared output parameters and artifacts (each a file holding the mock's
text), prints ``result`` and exits with ``exit_code``.
So everything not mocked, and the mocked node's place in the DAG, run with the runner's real
Argo semantics. A mock's values may hold ``{{inputs.parameters.x}}``: the runner substitutes them
in the pod's environment, as it would any template's.
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass, field

from mlflows.errors import UserError

BODIES = ("container", "script", "resource", "dag", "steps", "suspend", "containerSet", "http")
BODY_ONLY_FIELDS = ("initContainers", "sidecars", "volumes", "podSpecPatch")
OUTPUTS_DIR = "/tmp/mlflows-mock"  # private to the pod, as every /tmp path is
# A pod ends Error when its command succeeded but a declared output file is missing (Argo's
# executor fails to save it): a phase="Error" mock declares one more output that it never writes.
ERROR_OUTPUT = {"name": "mock-error", "valueFrom": {"path": f"{OUTPUTS_DIR}/phase-Error"}}
SCRIPT = """\
import os, pathlib, sys, time
time.sleep(float(os.environ["MLFLOWS_MOCK_DELAY"]))
# whole paths, so a runner that rewrites a pod's output paths (no isolation) finds them here
for index, path in enumerate({paths!r}):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(os.environ["MLFLOWS_MOCK_OUTPUT_%d" % index])
if "MLFLOWS_MOCK_RESULT" in os.environ:
    print(os.environ["MLFLOWS_MOCK_RESULT"], end="")
sys.exit(int(os.environ["MLFLOWS_MOCK_EXIT_CODE"]))
"""


@dataclass(frozen=True)
class Mock:
    """What a mocked template does instead of its body.

    ``outputs`` gives each declared output parameter's value (every one must be given);
    ``artifacts`` each declared output artifact's content, a file's text (an ``optional`` one
    may be left out);
    ``result`` is its stdout (``outputs.result``); ``exit_code`` non-zero fails the pod
    (``phase="Failed"`` is ``exit_code=1``); ``phase="Error"`` ends it Error (an output file it
    declares is missing), which ``retryPolicy: OnError`` retries; ``delay`` seconds pass before
    it ends.
    """

    outputs: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    result: str | None = None
    exit_code: int = 0
    phase: str = "Succeeded"
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.phase not in ("Succeeded", "Failed", "Error"):
            raise UserError(f"Mock(phase={self.phase!r}): give 'Succeeded', 'Failed' or 'Error'")
        if self.phase == "Error" and self.exit_code:
            raise UserError(
                "Mock(phase='Error'): an exit code fails the pod; give one or the other"
            )
        if self.phase == "Failed" and self.exit_code == 0:
            object.__setattr__(self, "exit_code", 1)
        if self.delay < 0:
            raise UserError(f"Mock(delay={self.delay}): give a delay of 0 seconds or more")


def apply_mocks(workflow: dict, mocks: dict[str, Mock]) -> dict:
    """A copy of ``workflow`` with each template whose name matches a mock's key (a name or a
    glob; the first matching key wins) replaced by that mock. A key matching no template is a
    mistake, named in one line."""
    document = copy.deepcopy(workflow)
    templates = document.get("spec", {}).get("templates") or []
    used: set[str] = set()
    for index, template in enumerate(templates):
        key = next((key for key in mocks if fnmatch.fnmatchcase(template["name"], key)), None)
        if key is not None:
            used.add(key)
            templates[index] = mocked_template(template, mocks[key])
    unused = [key for key in mocks if key not in used]
    if unused:
        names = ", ".join(t["name"] for t in templates)
        raise UserError(f"mocks: {unused[0]!r} matches no template (templates: {names})")
    return document


def mocked_template(template: dict, mock: Mock) -> dict:
    """``template`` with its body replaced by ``mock``'s script."""
    name = template["name"]
    outputs = copy.deepcopy(template.get("outputs") or {})
    declared = [parameter["name"] for parameter in outputs.get("parameters") or []]
    missing = [output for output in declared if output not in mock.outputs]
    if missing:
        raise UserError(
            f"mocks: template {name!r} declares output {missing[0]!r}; give it in "
            f"Mock(outputs={{{missing[0]!r}: ...}})"
        )
    extra = [output for output in mock.outputs if output not in declared]
    if extra:
        raise UserError(
            f"mocks: template {name!r} declares no output {extra[0]!r} (it declares: "
            f"{', '.join(declared) or 'none'})"
        )
    artifacts = outputs.get("artifacts") or []
    given = _check_artifacts(name, artifacts, mock.artifacts)
    for parameter in outputs.get("parameters") or []:
        parameter["valueFrom"] = {"path": f"{OUTPUTS_DIR}/{parameter['name']}"}
    for artifact in artifacts:
        artifact["path"] = f"{OUTPUTS_DIR}/artifacts/{artifact['name']}"
    files = [*declared, *(f"artifacts/{artifact}" for artifact in given)]
    values = [*(mock.outputs[output] for output in declared), *given.values()]
    if mock.phase == "Error":
        outputs["parameters"] = [*(outputs.get("parameters") or []), dict(ERROR_OUTPUT)]
    env = [
        {"name": "MLFLOWS_MOCK_DELAY", "value": str(mock.delay)},
        {"name": "MLFLOWS_MOCK_EXIT_CODE", "value": str(mock.exit_code)},
    ]
    env += [
        {"name": f"MLFLOWS_MOCK_OUTPUT_{index}", "value": str(value)}
        for index, value in enumerate(values)
    ]
    if mock.result is not None:
        env.append({"name": "MLFLOWS_MOCK_RESULT", "value": str(mock.result)})
    kept = {
        key: value
        for key, value in template.items()
        if key not in BODIES + BODY_ONLY_FIELDS and key != "outputs"
    }
    return {
        **kept,
        "script": {
            "image": "python:3-slim",
            "command": ["python"],
            "source": SCRIPT.format(paths=[f"{OUTPUTS_DIR}/{file}" for file in files]),
            "env": env,
        },
        **({"outputs": outputs} if outputs else {}),
    }


def _check_artifacts(name: str, declared: list[dict], given: dict[str, str]) -> dict[str, str]:
    """The mock's artifacts in declaration order, once every non-optional one is given and each
    given one is declared."""
    names = [artifact["name"] for artifact in declared]
    extra = [artifact for artifact in given if artifact not in names]
    if extra:
        raise UserError(
            f"mocks: template {name!r} declares no output artifact {extra[0]!r} (it declares: "
            f"{', '.join(names) or 'none'})"
        )
    for artifact in declared:
        if artifact["name"] not in given and not artifact.get("optional"):
            raise UserError(
                f"mocks: template {name!r} declares output artifact {artifact['name']!r}; give "
                f"it in Mock(artifacts={{{artifact['name']!r}: ...}})"
            )
    return {artifact: given[artifact] for artifact in names if artifact in given}
