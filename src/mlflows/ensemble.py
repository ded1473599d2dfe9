"""Top-k ensemble serving, as *Distributed Machine Learning Patterns* (ch. 5, fig. 5.11) draws
it: a selection step keeps the best models at or above an accuracy threshold, each is served by
its own step, and an aggregation step combines their answers.

``flows/e2e.py --serve ensemble:K[:THRESHOLD]`` renders, after the branches:

    select ─┬─ serve-members (a loop: one per kept model) ─┬─ serve-graph ─┬─ predict
            └─ serve-combiner ─────────────────────────────┘               └─ evaluate-ensemble

- ``select`` (``mlflows.ml.select best --top-k K --threshold T --members-file ...``) keeps the
  top K at or above T, publishes each as the newest version of ``runs/<workflow>/ensemble/
  top-<rank>`` and outputs the list ``members``; fewer than K: it serves those and says so;
  none: the step fails with one line.
- ``serve-members`` loops over that list (``withParam``): InferenceService ``<service>-top-<rank>``
  over its folder.
- ``serve-combiner``: InferenceService ``<service>-combiner`` whose predictor is
  ``python -m mlflows.ml.combine`` (KServe's Ensemble node only puts the members' answers side by
  side; this averages their class probabilities).
- ``serve-graph``: InferenceGraph ``<service>-ensemble``, a ``Sequence`` whose first step is an
  ``Ensemble`` node over the members (its steps written from select's list when the template
  runs: ``toJson(map(...))``) and whose second gives that node's answer (``data: $response``) to
  the combiner. Every step is a ``Hard`` dependency, so a member's 400 is the graph's answer.
  Output ``url``: the graph's, where clients send what they sent one model.
- ``predict`` and ``evaluate-ensemble`` ask the graph: one image, and the whole test split
  (``mlflows.ml.served_accuracy``), whose accuracy is the run's report of the ensemble.
"""

from __future__ import annotations

from dataclasses import dataclass

from hera.workflows import Container, Parameter, Resource, Task
from hera.workflows import models as m

from mlflows.errors import UserError
from mlflows.inference_service import (
    ISVC_API_VERSION,
    inference_service_manifest,
    inference_service_step,
)
from mlflows.kserve_contract import GRAPH_API_VERSION
from mlflows.manifest import Bare, to_yaml
from mlflows.patterns import fan_in
from mlflows.workloads import DATASET, OUTPUTS, RUN, Workloads

GRAPH_READY = "status.url"  # KServe sets the graph's URL only while it is Ready
MEMBERS_NODE = "members"
HARD = "Hard"  # a step whose failure is the graph's answer
MEMBERS = "members"  # select's output: the kept models, a JSON list of {"name": "top-1", ...}
USAGE = "give single or ensemble:K[:THRESHOLD], e.g. ensemble:2:0.9"


@dataclass(frozen=True)
class EnsembleServing:
    """Serve the top ``size`` models at or above ``threshold`` accuracy as one ensemble."""

    size: int
    threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.size < 2:
            raise UserError(
                f"--serve ensemble:{self.size}: an ensemble has at least 2 members; "
                "use --serve single for one model"
            )
        if not 0 <= self.threshold <= 1:
            raise UserError(
                f"--serve ensemble:{self.size}:{self.threshold:g}: the threshold is an accuracy "
                "from 0 to 1, e.g. ensemble:2:0.9"
            )

    @classmethod
    def parse(cls, text: str) -> EnsembleServing | None:
        """``--serve``'s value: None for ``single``."""
        if text == "single":
            return None
        kind, _, rest = text.partition(":")
        size, colon, threshold = rest.partition(":")
        try:
            if kind != "ensemble":
                raise ValueError
            parsed = cls(int(size), float(threshold) if colon else 0.0)
        except ValueError:
            raise UserError(f"--serve {text!r}: {USAGE}") from None
        return parsed


@dataclass(frozen=True)
class EnsembleNames:
    """The objects of one service's ensemble, named once."""

    service: str

    def member(self, member: str) -> str:
        return f"{self.service}-{member}"

    @property
    def combiner(self) -> str:
        return f"{self.service}-combiner"

    @property
    def graph(self) -> str:
        return f"{self.service}-ensemble"


def combiner_manifest(name: str, image: str, service_account: str) -> dict:
    """An InferenceService whose predictor is ``python -m mlflows.ml.combine`` (it listens on
    the ``PORT`` Knative gives it)."""
    container = {
        "name": "kserve-container",
        "image": image,
        "command": ["python", "-m", "mlflows.ml.combine"],
        "args": ["--model-name", name],
    }
    return {
        "apiVersion": ISVC_API_VERSION,
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": {"serviceAccountName": service_account, "containers": [container]}},
    }


def graph_manifest(name: str, members: list[dict] | Bare, combiner: str) -> dict:
    """The InferenceGraph: ``members`` (the Ensemble node's steps, or an expression making them)
    answer together, then ``combiner`` averages their answers."""
    return {
        "apiVersion": GRAPH_API_VERSION,
        "kind": "InferenceGraph",
        "metadata": {"name": name},
        "spec": {
            "nodes": {
                "root": {
                    "routerType": "Sequence",
                    "steps": [
                        {"name": MEMBERS_NODE, "nodeName": MEMBERS_NODE, "dependency": HARD},
                        {
                            "name": "combine",
                            "serviceName": combiner,
                            "data": "$response",
                            "dependency": HARD,
                        },
                    ],
                },
                MEMBERS_NODE: {"routerType": "Ensemble", "steps": members},
            }
        },
    }


def member_step(names: EnsembleNames, member: str) -> dict:
    """The Ensemble node's step asking member ``member``."""
    return {"name": member, "serviceName": names.member(member), "dependency": HARD}


def member_steps_from(parameter: str, names: EnsembleNames) -> Bare:
    """An expression making :func:`member_step` of every member in the input ``parameter``
    (select's list), written unquoted so the manifest gets the list itself. The map literal is
    in parentheses: a brace right after ``map(list,`` would open a predicate."""
    fields = {
        "name": "#.name",
        "serviceName": f"'{names.member('')}' + #.name",
        "dependency": f"'{HARD}'",
    }
    literal = ", ".join(f"'{key}': {value}" for key, value in fields.items())
    return Bare(f"{{{{=toJson(map(fromJSON(inputs.parameters.{parameter}), ({{{literal}}})))}}}}")


class EnsembleTasks:
    """The ensemble's tasks, built with ``workloads``' image, volume, accounts and service."""

    def __init__(self, workloads: Workloads, serving: EnsembleServing):
        self.workloads = workloads
        self.serving = serving
        self.names = EnsembleNames(workloads.service_name)

    def after(self, branches: Task) -> Task:
        """select → members and combiner → graph → predict and evaluate-ensemble, after the
        loop ``branches``; returns the graph's task."""
        selected = fan_in([branches], join=self.select(branches))
        members = self.serve_members(selected)
        combiner = self.serve_combiner()
        selected >> [members, combiner]
        graph = self.serve_graph(selected)
        [members, combiner] >> graph
        graph >> [self.workloads.predict(graph), self.evaluate(graph)]
        return graph

    def select(self, branches: Task) -> Task:
        w = self.workloads
        template = w.template(
            "select",
            lambda: self._with_members_output(
                w.select_template(
                    {
                        "--candidates-json": "{{inputs.parameters.candidates}}",
                        "--top-k": str(self.serving.size),
                        "--threshold": f"{self.serving.threshold:g}",
                        "--members-dir": w.volume.path(RUN, "ensemble"),
                        "--members-file": f"{OUTPUTS}/{MEMBERS}",
                    },
                    inputs=[Parameter(name="candidates")],
                )
            ),
        )
        return template(
            name="select",
            arguments={"candidates": f"{{{{tasks.{branches.name}.outputs.parameters.model-dir}}}}"},
        )

    def serve_members(self, selected: Task) -> Task:
        template = self.workloads.template("serve-member", self._member_template)
        return template(
            name="serve-members",
            arguments={"member": "{{item.name}}"},
            with_param=f"{{{{tasks.{selected.name}.outputs.parameters.{MEMBERS}}}}}",
        )

    def serve_combiner(self) -> Task:
        template = self.workloads.template("serve-combiner", self._combiner_template)
        return template(name="serve-combiner")

    def serve_graph(self, selected: Task) -> Task:
        template = self.workloads.template("serve-graph", self._graph_template)
        return template(
            name="serve-graph",
            arguments={MEMBERS: f"{{{{tasks.{selected.name}.outputs.parameters.{MEMBERS}}}}}"},
        )

    def evaluate(self, graph: Task) -> Task:
        template = self.workloads.template("evaluate-ensemble", self._evaluate_template)
        return template(name="evaluate-ensemble", arguments={"url": graph.get_parameter("url")})

    @staticmethod
    def _with_members_output(template: Container) -> Container:
        template.outputs = [*template.outputs, Workloads.output(MEMBERS)]
        return template

    def _member_template(self) -> Resource:
        w, member = self.workloads, "{{inputs.parameters.member}}"
        manifest = inference_service_manifest(
            name=self.names.member(member),
            storage_uri=w.volume.storage_uri(RUN, "ensemble", member),
            service_account=w.accounts.workloads,
            autoscaling=w.autoscaling,
        )
        template = inference_service_step(
            "serve-member", manifest, service_account=w.accounts.resources
        )
        template.inputs = [Parameter(name="member")]
        template.retry_strategy = m.RetryStrategy(limit=2, retry_policy="OnError")
        return template

    def _combiner_template(self) -> Resource:
        w = self.workloads
        manifest = combiner_manifest(self.names.combiner, w.image, w.accounts.workloads)
        template = inference_service_step(
            "serve-combiner", manifest, service_account=w.accounts.resources
        )
        template.retry_strategy = m.RetryStrategy(limit=2, retry_policy="OnError")
        return template

    def _graph_template(self) -> Resource:
        w = self.workloads
        manifest = graph_manifest(
            self.names.graph, member_steps_from(MEMBERS, self.names), self.names.combiner
        )
        return Resource(
            name="serve-graph",
            action="apply",
            manifest=to_yaml(manifest),
            success_condition=GRAPH_READY,
            service_account_name=w.accounts.resources,
            inputs=[Parameter(name=MEMBERS)],
            outputs=[Parameter(name="url", value_from=m.ValueFrom(json_path="{.status.url}"))],
            retry_strategy=m.RetryStrategy(limit=2, retry_policy="OnError"),
        )

    def _evaluate_template(self) -> Container:
        w = self.workloads
        return w.container(
            "evaluate-ensemble",
            "mlflows.ml.served_accuracy",
            {
                "--url": "{{inputs.parameters.url}}",
                "--model-name": self.names.graph,
                "--dataset": DATASET,
                "--data-dir": w.data_dir(),
                "--accuracy-file": f"{OUTPUTS}/accuracy",
            },
            inputs=[Parameter(name="url")],
            outputs=[Workloads.output("accuracy")],
        )
