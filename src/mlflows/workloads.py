"""The ML workloads of a pipeline as Argo templates, each running an ``mlflows.ml`` entry point.

:class:`Workloads` binds them to one image, one shared volume and the service accounts; each method
returns a DAG task (creating its template the first time), so a flow reads like the pipeline::

    data = workloads.ingest()
    trained = data >> workloads.train(spec)

Paths follow docs/architecture.md: datasets under ``datasets/``, everything a run makes under
``runs/{{workflow.name}}/``.

The same templates make the WorkflowTemplate library (:mod:`mlflows.library`):
:meth:`Workloads.library_templates` builds each block's template with what a task would bake in
(a model spec, the list of candidates) read from inputs instead; a Workloads given a ``library``
calls those by ``templateRef`` rather than putting templates into the workflow.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import TYPE_CHECKING

from hera.workflows import DAG, Container, Parameter, Resource, Step, Steps, Task
from hera.workflows import models as m
from hera.workflows._context import _context

from mlflows.candidates import ACCURACY, MODEL_DIR
from mlflows.errors import UserError
from mlflows.inference_service import (
    Autoscaling,
    inference_service_manifest,
    inference_service_step,
)
from mlflows.manifest import Bare
from mlflows.memoize import MemoCache, memoized
from mlflows.names import image_reference
from mlflows.patterns import follow_each
from mlflows.semaphores import TrainingSlots
from mlflows.specs import ModelSpec, to_item
from mlflows.storage import SharedVolume
from mlflows.tfjob import GangScheduling, tfjob_manifest, tfjob_step

if TYPE_CHECKING:
    from hera.workflows._mixins import TemplateMixin

    from mlflows.canary import Canary
    from mlflows.library import TemplateLibrary

TRAINER_IMAGE = "ghcr.io/mlflows/trainer:0.1.0"
DATASET = "{{workflow.parameters.dataset}}"
DATASET_VERSION = "{{workflow.parameters.dataset-version}}"
RUN = "runs/{{workflow.name}}"
SERVING = f"{RUN}/serving"  # numbered model versions, the newest served
OUTPUTS = "/tmp/outputs"  # where container steps leave their output parameters
# An entry point exits with UserError's code on a usage error, which fails the same way every
# time, so no retry policy retries it. Argo ANDs this with the retryPolicy; lastRetry.exitCode
# is "-1" when the attempt has none (an Error such as a deleted pod), which stays retried
# (argo-workflows docs/retries.md, "Conditional retries").
NOT_A_USAGE_ERROR = f"asInt(lastRetry.exitCode) != {UserError.exit_code}"
DATA_CHECKSUM = "data-checksum"  # the ingested data's checksum: part of every model's key
MODEL_KEY_LENGTH = 32  # hex digits of SHA-256: 128 bits, no collision among any real models
# A promote template's model beats the one served (the champion step's output).
BEATS_CHAMPION = "{{inputs.parameters.accuracy}} > {{steps.champion.outputs.parameters.accuracy}}"


@dataclass(frozen=True)
class Training:
    """What a train template gives ``mlflows.ml.train`` and its TFJob, each value as it is written
    there: one model spec's numbers, or the template's input parameters (in the library), whose
    names are these fields' with '-' for '_'. The priority class is there only when asked for
    (``priority``): a template without it renders as before."""

    model: str  # the model's name: its folder under runs/<workflow>/models, the TFJob's name
    model_type: str
    epochs: str
    steps_per_epoch: str
    batch_size_per_replica: str
    learning_rate: str
    workers: int | Bare
    priority_class: str | None = None  # "" in a loop's item: the cluster's default priority

    @classmethod
    def of(cls, spec: ModelSpec, *, priority: bool = False) -> Training:
        """``spec``'s values; with ``priority``, a priority class even where it has none ("")."""
        return cls(
            model=spec.name,
            model_type=spec.architecture,
            epochs=str(spec.epochs),
            steps_per_epoch=str(spec.steps_per_epoch),
            batch_size_per_replica=str(spec.batch_size_per_replica),
            learning_rate=str(spec.learning_rate),
            workers=spec.workers,
            priority_class=(spec.priority_class or "") if priority else spec.priority_class,
        )

    @classmethod
    def from_inputs(cls, *, priority: bool = False) -> Training:
        """Every value from the input parameter of its name; the worker count unquoted in the
        TFJob, so that it stays a number."""
        values = {
            name: f"{{{{inputs.parameters.{_parameter(name)}}}}}" for name in cls._names(priority)
        }
        return cls(**{**values, "workers": Bare(values["workers"])})

    @classmethod
    def input_parameters(cls, *, priority: bool = False) -> list[Parameter]:
        """The inputs :meth:`from_inputs` reads; what a ModelSpec defaults is their default."""
        defaults = {f.name: f.default for f in fields(ModelSpec) if f.default is not MISSING}
        return [
            Parameter(name=_parameter(name), default=str(defaults[name] or ""))
            if name in defaults
            else Parameter(name=_parameter(name))
            for name in cls._names(priority)
        ]

    @classmethod
    def parameter_names(cls, *, priority: bool = False) -> list[str]:
        return [_parameter(name) for name in cls._names(priority)]

    @classmethod
    def _names(cls, priority: bool) -> list[str]:
        return [f.name for f in fields(cls) if priority or f.name != "priority_class"]

    def arguments(self) -> dict[str, str]:
        """The values as a call's arguments to the library's train template."""
        return {
            _parameter(name): str(getattr(self, name))
            for name in self._names(self.priority_class is not None)
        }


def _parameter(field_name: str) -> str:
    return field_name.replace("_", "-")


@dataclass(frozen=True)
class ServiceAccounts:
    """One service account per kind of step, each with only the permissions it needs
    (:mod:`mlflows.cluster` renders them)."""

    # Container steps: only report their outputs to Argo.
    steps: str = "mlflows-steps"
    # Resource steps: create and watch TFJobs and InferenceServices.
    resources: str = "mlflows-resources"
    # TFJob workers and model servers: no Kubernetes API at all.
    workloads: str = "mlflows-workloads"


@dataclass(frozen=True)
class Workloads:
    image: str = TRAINER_IMAGE
    volume: SharedVolume = field(default_factory=SharedVolume)
    accounts: ServiceAccounts = field(default_factory=ServiceAccounts)
    cache: MemoCache = field(default_factory=MemoCache)
    service_name: str = "fashion-mnist"  # the InferenceService, and the model name clients ask for
    autoscaling: Autoscaling = field(default_factory=Autoscaling)
    gang_scheduling: GangScheduling | None = None
    # At most so many TFJobs at once in the namespace (a semaphore on every train template).
    training_slots: TrainingSlots | None = None
    worker_cpu: str | None = "2"
    worker_memory: str | None = "4Gi"
    # Where the tasks' templates are: None, in the workflow being built; else in this
    # WorkflowTemplate library, called by templateRef (its templates then hold this object's
    # image, volume, accounts, cache and the rest: the ones it was rendered with).
    library: TemplateLibrary | None = None
    # Models under models/<key> (the loop's), their training and evaluation memoized.
    content_addressed: bool = False
    # How promote serves a better model: None, at once (replace); else a verified canary.
    rollout: Canary | None = None

    def __post_init__(self) -> None:
        image_reference(self.image, "image")

    # Paths on the shared volume, as the containers see them.
    def data_dir(self) -> str:
        return self.volume.path("datasets")

    def model_dir(self, spec: ModelSpec) -> str:
        return self._model_path(spec.name)

    def _model_path(self, model: str) -> str:
        return self.volume.path(RUN, "models", model)

    def versions_dir(self) -> str:
        return self.volume.path(SERVING)

    # Tasks, in pipeline order.
    def ingest(self) -> Task:
        """Load the dataset onto the volume once per (dataset, version, splits) within the cache's
        max age; a rerun is a memo hit that skips the download."""
        return self._call(
            "ingest",
            self._ingest_template,
            name="ingest",
            arguments={"dataset": DATASET, "version": DATASET_VERSION, "splits": "train,test"},
        )

    def train(self, spec: ModelSpec) -> Task:
        """Train ``spec`` as a TFJob of ``spec.workers`` workers."""
        name, training = f"train-{spec.name}", Training.of(spec)
        if self.library is not None:  # the library's one train template, the spec as arguments
            return self._call("train", None, name=name, arguments=training.arguments())
        return self.template(name, lambda: self._train_template(name, training))(name=name)

    def evaluate(self, spec: ModelSpec) -> Task:
        """Evaluate the model ``spec`` trained; output parameter ``accuracy``."""
        return self.evaluate_model(self.model_dir(spec), name=f"evaluate-{spec.name}")

    def promote(self, evaluated: Task, name: str | None = None) -> Task:
        """Serve the model ``evaluated`` (an :meth:`evaluate` task) evaluated if it beats the
        current champion, or if there is none yet."""
        return self._call(
            "promote",
            self._promote_template,
            name=name or evaluated.name.replace("evaluate-", "promote-", 1),
            arguments={
                "model-dir": _argument(evaluated, "model-dir"),
                "accuracy": self.output_of(evaluated, "accuracy"),
            },
        )

    def sweep(self, specs: Sequence[ModelSpec], space: str, samples: int | None, seed: int) -> Task:
        """Expand ``space`` over each of ``specs`` into the specs :meth:`branches` loops over
        (``python -m mlflows.ml.sweep``); output parameter ``specs``, a JSON list of items."""
        priority = any(spec.priority_class for spec in specs)
        arguments = {
            "models": json.dumps(
                [to_item(spec, priority=priority) for spec in specs], separators=(",", ":")
            ),
            "space": space,
            "samples": "" if samples is None else str(samples),
            "seed": str(seed),
        }
        return self._call("sweep", self._sweep_template, name="sweep", arguments=arguments)

    def branches(
        self,
        specs: Sequence[ModelSpec],
        data: Task,
        *,
        promote: bool = True,
        swept: Task | None = None,
    ) -> Task:
        """Every spec's branch as one task looping over the specs (``withItems``), or over what
        the ``swept`` task (:meth:`sweep` of them) made of them (``withParam``): each item runs
        the ``branch`` DAG, train → evaluate (→ promote, as soon as that item is evaluated), on
        the data the ``data`` task (:meth:`ingest`) checksummed. The templates are the same
        however many specs there are; only the item list grows. Needs ``content_addressed``;
        a ``library``'s branch always promotes."""
        if not self.content_addressed:
            raise ValueError(
                "a loop's models are content-addressed: Workloads(content_addressed=True)"
            )
        priority = any(spec.priority_class for spec in specs)
        loop = (
            {"with_param": f"{{{{tasks.{swept.name}.outputs.parameters.specs}}}}"}
            if swept is not None
            else {"with_items": [to_item(spec, priority=priority) for spec in specs]}
        )
        return self._call(
            "branch",
            lambda: self._branch_template(promote, priority),
            name="branches",
            arguments={
                **{
                    name: f"{{{{item.{name}}}}}"
                    for name in Training.parameter_names(priority=priority)
                },
                DATA_CHECKSUM: self.output_of(data, "checksum"),
            },
            **loop,
        )

    def select_trained(self, branches: Task) -> Task:
        """Select among the models the loop ``branches`` (:meth:`branches`) trained: its
        aggregated outputs, a JSON list of each succeeded item's ``model-dir`` and ``accuracy``
        (:mod:`mlflows.candidates`), so that select evaluates none of them again."""
        return self._call(
            "select",
            self._select_listed_template,
            name="select",
            arguments={"candidates": f"{{{{tasks.{branches.name}.outputs.parameters}}}}"},
        )

    def select(self, specs: list[ModelSpec]) -> Task:
        """Evaluate every trained model that exists, promote the best; fails if none exists.
        (The library's select takes the folders as its input ``candidates``, a JSON list.)"""
        candidates = [self.model_dir(spec) for spec in specs]
        if self.library is not None:
            return self._call(
                "select", None, name="select", arguments={"candidates": json.dumps(candidates)}
            )
        template = self.template(
            "select", lambda: self.select_template({"--candidates": candidates})
        )
        return template(name="select")

    def serve(self) -> Task:
        """Apply the InferenceService over the promoted versions and wait until it is Ready;
        output parameter ``url``."""
        return self._call("serve", self._serve_template, name="serve")

    def served(self) -> Task:
        """With a canary rollout, where the promote steps left the service: read it (output
        parameters ``url`` and ``revision``, the rolled-out revision)."""
        from mlflows.rollout import CanaryRollout

        if self.rollout is None:
            raise ValueError("served() reads a canary rollout's service: Workloads(rollout=...)")
        rollout = CanaryRollout(self, self.rollout)
        return self.template("served", rollout.served_template)(name="served")

    def predict(self, served: Task) -> Task:
        """Send one test image through the served model and print the predicted class."""
        return self._call(
            "predict",
            self._predict_template,
            name="predict",
            arguments={"url": self.output_of(served, "url")},
        )

    def library_templates(self) -> dict[str, Callable[[], TemplateMixin]]:
        """How to make each building block's template as the WorkflowTemplate library holds it:
        the template its task uses, with a model spec (train) and the list of candidates (select)
        read from inputs, not written in. ``branch`` is the loop's (content-addressed, memoized
        train and evaluate, promote), taking a priority class too (default: none)."""
        addressed = replace(self, content_addressed=True)
        return {
            "ingest": self._ingest_template,
            "train": self._train_from_inputs,
            "evaluate": self._evaluate_template,
            "promote": self._promote_template,
            "serve": self._serve_template,
            "select": self._select_listed_template,
            "predict": self._predict_template,
            "sweep": self._sweep_template,
            "branch": lambda: addressed._branch_template(promote=True, priority=True),
        }

    def _call(self, block: str, make, **task) -> Task:
        """A task running the template of ``block``: the library's by templateRef, else the
        workflow's own of that name (made by ``make()`` the first time)."""
        if self.library is not None:
            return Task(template_ref=self.library.ref(block), **task)
        return self.template(block, make)(**task)

    def output_of(self, task: Task, parameter: str) -> str:
        """``task``'s output ``parameter`` as an expression; Hera checks that the template has it,
        which it can only do for a template of this workflow."""
        if self.library is not None:
            return f"{{{{tasks.{task.name}.outputs.parameters.{parameter}}}}}"
        return task.get_parameter(parameter)

    # Templates, each created once per workflow.
    @staticmethod
    def template(name: str, make):
        """The workflow being built's template ``name``, made by ``make()`` if it has none yet.
        Looked up there rather than kept here, so one Workloads can build several workflows."""
        pieces = _context.pieces
        workflow = pieces[0] if pieces else None
        for template in getattr(workflow, "templates", None) or []:
            if getattr(template, "name", None) == name:
                return template
        return make()

    def container(self, name: str, entry_point: str, options: dict, **kwargs) -> Container:
        """A step running ``python -m <entry_point>`` (a module, maybe with its subcommand)."""
        module, *subcommand = entry_point.split()
        return Container(
            name=name,
            image=self.image,
            command=["python", "-m", module],
            args=[*subcommand, *flags(options)],
            volume_mounts=[self.volume.mount()],
            service_account_name=self.accounts.steps,
            **kwargs,
        )

    @staticmethod
    def output(name: str) -> Parameter:
        return Parameter(name=name, value_from=m.ValueFrom(path=f"{OUTPUTS}/{name}"))

    def _ingest_template(self) -> Container:
        template = self.container(
            "ingest",
            "mlflows.ml.ingest",
            {
                "--dataset": "{{inputs.parameters.dataset}}",
                "--version": "{{inputs.parameters.version}}",
                "--splits": "{{inputs.parameters.splits}}",
                "--data-dir": self.data_dir(),
                "--record-file": f"{OUTPUTS}/record",
                "--checksum-file": f"{OUTPUTS}/checksum",
            },
            inputs=[Parameter(name="dataset"), Parameter(name="version"), Parameter(name="splits")],
            outputs=[self.output("record"), self.output("checksum")],
            # Downloads fail transiently; a retry a little later usually succeeds.
            retry_strategy=entry_point_retries(
                limit=3,
                policy="Always",
                backoff=m.Backoff(duration="30s", factor=2, max_duration="10m"),
            ),
        )
        return memoized(template, key_parameters=["dataset", "version", "splits"], cache=self.cache)

    def _train_template(
        self,
        name: str,
        training: Training,
        inputs: list[Parameter] | None = None,
        model_dir: str | None = None,
    ) -> Resource:
        """``model_dir``: where the model goes, when not the run's folder of the model's name;
        the TFJob then carries it (annotation ``model-dir``) for the output ``model-dir``."""
        addressed, model_dir = model_dir is not None, model_dir or self._model_path(training.model)
        checkpoints = self.volume.path(RUN, "checkpoints", training.model)
        manifest = tfjob_manifest(
            generate_name=f"{{{{workflow.name}}}}-{training.model}-",
            image=self.image,
            command=["python", "-m", "mlflows.ml.train"],
            args=flags(
                {
                    "--model-type": training.model_type,
                    "--dataset": DATASET,
                    "--data-dir": self.data_dir(),
                    "--saved-model-dir": model_dir,
                    "--checkpoint-dir": checkpoints,
                    "--epochs": training.epochs,
                    "--steps-per-epoch": training.steps_per_epoch,
                    "--batch-size-per-replica": training.batch_size_per_replica,
                    "--learning-rate": training.learning_rate,
                    "--metrics-file": model_dir + ".metrics.json",
                }
            ),
            workers=training.workers,
            volume=self.volume,
            service_account=self.accounts.workloads,
            cpu=self.worker_cpu,
            memory=self.worker_memory,
            gang_scheduling=self.gang_scheduling,
            priority_class=training.priority_class,
        )
        if addressed:
            manifest["metadata"]["annotations"] = {MODEL_DIR: model_dir}
        template = tfjob_step(name, manifest, service_account=self.accounts.resources)
        if addressed:
            template.outputs = [
                *template.outputs,
                Parameter(
                    name=MODEL_DIR,
                    value_from=m.ValueFrom(json_path=f"{{.metadata.annotations.{MODEL_DIR}}}"),
                ),
            ]
        if inputs:
            template.inputs = inputs
        # An API hiccup while creating or watching the job is worth one more try; a failed
        # training is not (the TFJob already restarted its workers).
        template.retry_strategy = m.RetryStrategy(limit=2, retry_policy="OnError")
        if self.training_slots is not None:
            template.synchronization = self.training_slots.synchronization()
        return template

    def _branch_template(self, promote: bool, priority: bool) -> DAG:
        """One spec's branch, the spec as input parameters (a ModelSpec's fields), and the
        dataset's checksum: train → evaluate (→ promote). Training and evaluation are memoized
        under the model's key (:func:`model_key`), the model stored at ``models/<key>``; outputs
        ``model-dir``, where it is, and its ``accuracy`` (:mod:`mlflows.candidates`). The worker
        count is substituted into the TFJob once."""
        train = self.template("train", lambda: self._memoized_train(priority))
        names = Training.parameter_names(priority=priority)
        given = {name: f"{{{{inputs.parameters.{name}}}}}" for name in names}
        trained_in = f"{{{{tasks.train.outputs.parameters.{MODEL_DIR}}}}}"
        with DAG(
            name="branch",
            inputs=[*Training.input_parameters(priority=priority), Parameter(name=DATA_CHECKSUM)],
            outputs=[
                Parameter(name=MODEL_DIR, value_from=m.ValueFrom(parameter=trained_in)),
                Parameter(
                    name=ACCURACY,
                    value_from=m.ValueFrom(
                        parameter=f"{{{{tasks.evaluate.outputs.parameters.{ACCURACY}}}}}"
                    ),
                ),
            ],
        ) as branch:
            key = model_key(self.image, [n for n in names if n not in ("model", "priority-class")])
            trained = train(name="train", arguments={**given, "model-key": key})
            evaluated = trained >> self.evaluate_model(trained_in, name="evaluate")
            if promote:
                follow_each([evaluated], lambda task: self.promote(task, name="promote"))
        return branch

    def _memoized_train(self, priority: bool) -> Resource:
        """The train template of a model stored under its key, memoized under it: a model
        trained before (in any workflow) is not trained again."""
        template = self._train_template(
            "train",
            Training.from_inputs(priority=priority),
            [*Training.input_parameters(priority=priority), Parameter(name="model-key")],
            model_dir=self.volume.path("models", "{{inputs.parameters.model-key}}"),
        )
        return memoized(template, key_parameters=["model-key"], cache=self.cache)

    def evaluate_model(self, model_dir: str, name: str) -> Task:
        """Evaluate the model in ``model_dir``; output parameter ``accuracy``."""
        return self._call(
            "evaluate", self._evaluate_template, name=name, arguments={"model-dir": model_dir}
        )

    def _train_from_inputs(self, priority: bool = False) -> Resource:
        return self._train_template(
            "train",
            Training.from_inputs(priority=priority),
            Training.input_parameters(priority=priority),
        )

    def _sweep_template(self) -> Container:
        return self.container(
            "sweep",
            "mlflows.ml.sweep",
            {
                "--models": "{{inputs.parameters.models}}",
                "--space": "{{inputs.parameters.space}}",
                "--samples": "{{inputs.parameters.samples}}",
                "--seed": "{{inputs.parameters.seed}}",
                "--specs-file": f"{OUTPUTS}/specs",
            },
            inputs=[Parameter(name=n) for n in ("models", "space", "samples", "seed")],
            outputs=[self.output("specs")],
        )

    def _evaluate_template(self) -> Container:
        template = self.container(
            "evaluate",
            "mlflows.ml.select evaluate",
            {
                "--model-dir": "{{inputs.parameters.model-dir}}",
                "--dataset": DATASET,
                "--data-dir": self.data_dir(),
                "--accuracy-file": f"{OUTPUTS}/accuracy",
            },
            inputs=[Parameter(name="model-dir")],
            outputs=[self.output("accuracy")],
        )
        if self.content_addressed:  # a model's folder is its content: its accuracy is known
            return memoized(template, key_parameters=["model-dir"], cache=self.cache)
        return template

    def _promote_template(self) -> Steps:
        if self.rollout is not None:  # publish, then roll out as a verified canary
            from mlflows.rollout import CanaryRollout

            rollout = CanaryRollout(self, self.rollout).rollout_template
            arguments = {
                "version": "{{steps.publish.outputs.parameters.version}}",
                "accuracy": "{{inputs.parameters.accuracy}}",  # verify's offline accuracy
            }
            return self.promote_steps("rollout", rollout, arguments=arguments, version_output=True)
        return self.promote_steps("serve", lambda: self.template("serve", self._serve_template))

    def promote_steps(
        self,
        last: str,
        make: Callable[[], TemplateMixin],
        *,
        arguments: dict[str, str] | None = None,
        version_output: bool = False,
    ) -> Steps:
        """``promote``: champion → publish → the step ``last`` running the template ``make()``
        makes (serve, or roll out), the last two only for a model that beats the champion,
        under its lock."""
        champion, publish = self.champion_template(), self.publish_template(version_output)
        with Steps(
            name="promote",
            inputs=[Parameter(name="model-dir"), Parameter(name="accuracy")],
            synchronization=self.champion_lock(),
        ) as promote:
            Step(name="champion", template=champion)
            Step(
                name="publish",
                template=publish,
                when=BEATS_CHAMPION,
                arguments={
                    "model-dir": "{{inputs.parameters.model-dir}}",
                    "accuracy": "{{inputs.parameters.accuracy}}",
                },
            )
            Step(name=last, template=make(), when=BEATS_CHAMPION, arguments=arguments)
        return promote

    def champion_template(self) -> Container:
        """The accuracy of the model being served (its promoted version's), -1 if none."""
        return self.container(
            "champion",
            "mlflows.ml.select champion",
            {
                "--versions-dir": self.versions_dir(),
                "--accuracy-file": f"{OUTPUTS}/accuracy",
            },
            outputs=[self.output("accuracy")],
        )

    def publish_template(self, version_output: bool = False) -> Container:
        """Copy the model into the next version; ``version_output``: its number as output
        ``version``."""
        options = {
            "--model-dir": "{{inputs.parameters.model-dir}}",
            "--accuracy": "{{inputs.parameters.accuracy}}",
            "--versions-dir": self.versions_dir(),
        }
        if version_output:
            options["--version-file"] = f"{OUTPUTS}/version"
        return self.container(
            "publish",
            "mlflows.ml.select promote",
            options,
            inputs=[Parameter(name="model-dir"), Parameter(name="accuracy")],
            outputs=[self.output("version")] if version_output else None,
        )

    def champion_lock(self) -> m.Synchronization:
        """Held for the whole read-compare-publish(-roll out), so two branches finishing
        together cannot both see the same champion and the worse one overwrite the better."""
        return m.Synchronization(mutexes=[m.Mutex(name=f"{self.service_name}-champion")])

    def select_template(
        self, candidates: dict[str, str | list[str]], inputs: list[Parameter] | None = None
    ) -> Container:
        """``candidates``: ``--candidates`` and the model folders, ``--candidates-in`` and the
        folder holding them, or ``--candidates-json`` and an input's JSON list (of folders, or
        of a loop's aggregated outputs)."""
        return self.container(
            "select",
            "mlflows.ml.select best",
            {
                **candidates,
                "--dataset": DATASET,
                "--data-dir": self.data_dir(),
                "--versions-dir": self.versions_dir(),
                "--result-file": f"{OUTPUTS}/result",
                "--accuracy-file": f"{OUTPUTS}/accuracy",
            },
            inputs=inputs,
            outputs=[self.output("accuracy"), self.output("result")],
        )

    def _select_listed_template(self) -> Container:
        """Select among the input ``candidates``, a JSON list: a loop's aggregated outputs, or
        model folders."""
        return self.select_template(
            {"--candidates-json": "{{inputs.parameters.candidates}}"},
            inputs=[Parameter(name="candidates")],
        )

    def _serve_template(self) -> Resource:
        manifest = inference_service_manifest(
            name=self.service_name,
            storage_uri=self.volume.storage_uri(SERVING),
            service_account=self.accounts.workloads,
            autoscaling=self.autoscaling,
        )
        template = inference_service_step(
            "serve", manifest, service_account=self.accounts.resources
        )
        template.retry_strategy = m.RetryStrategy(limit=2, retry_policy="OnError")
        return template

    def _predict_template(self) -> Container:
        return self.container(
            "predict",
            "mlflows.ml.client",
            {
                "--url": "{{inputs.parameters.url}}",
                "--model-name": self.service_name,
                "--dataset": DATASET,
                "--data-dir": self.data_dir(),
                "--index": "0",
            },
            inputs=[Parameter(name="url")],
        )


def entry_point_retries(
    *, limit: int, policy: str, backoff: m.Backoff | None = None
) -> m.RetryStrategy:
    """The retryStrategy of a step whose container runs an ``mlflows.ml`` entry point: retried by
    ``policy``, except after a usage error. (A resource step's exit code is Argo's executor's,
    not an entry point's, so its retries take no expression.)"""
    return m.RetryStrategy(
        limit=limit, retry_policy=policy, backoff=backoff, expression=NOT_A_USAGE_ERROR
    )


def model_key(image: str, parameters: list[str]) -> str:
    """An expression tag giving a model's key: SHA-256 (cut to MODEL_KEY_LENGTH hex digits) of
    the trainer image, the data's checksum and the spec's ``parameters`` (inputs of the template
    it is evaluated in), so that it changes when any of them does, and only then."""
    parts = " + '|' + ".join(
        [f"'{image}'", *(f"inputs.parameters['{p}']" for p in [DATA_CHECKSUM, *parameters])]
    )
    return f"{{{{=sprig.trunc({MODEL_KEY_LENGTH}, sprig.sha256sum({parts}))}}}}"


def flags(options: dict[str, str | list[str]]) -> list[str]:
    """Command-line arguments from ``{"--flag": value}``; a list value follows its flag whole."""
    args: list[str] = []
    for flag, value in options.items():
        args += [flag, *(value if isinstance(value, list) else [value])]
    return args


def _argument(task: Task, name: str) -> str:
    """The value ``task`` passes for its template's input parameter ``name``."""
    # A dict as given to Task(), a list of them as a template's call gives them.
    given = task.arguments if isinstance(task.arguments, list) else [task.arguments]
    for arguments in given:
        if isinstance(arguments, dict) and name in arguments:
            return arguments[name]
    raise KeyError(f"task {task.name} passes no argument {name!r}")
