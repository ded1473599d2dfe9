"""The end-to-end pipeline, Fashion-MNIST to a served model:

    ingest ─┬─ train cnn ──────── evaluate ── promote ─┐
    (memo)  ├─ train dropout ──── evaluate ── promote ─┼─ select ── serve ── predict
            └─ train batch-norm ─ evaluate ── promote ─┘

The branches are one loop over the specs (withItems, one ``branch`` template whatever their
number); ``--fan-out static`` renders one set of tasks per spec instead. Each train is a TFJob
of several workers; each promote serves its model as soon as it is evaluated if it beats the
model being served (asynchronous fan-in); select runs once every branch has ended, even if one
failed, and keeps the best.

    python flows/e2e.py                 print the Workflow as YAML
    python flows/e2e.py --submit        send it to Argo (ARGO_SERVER, ARGO_TOKEN)
    python flows/e2e.py --local         run it on this machine
    python flows/e2e.py --fan-out static  one train, evaluate and promote task per spec
    python flows/e2e.py --sweep "learning_rate=1e-3,3e-3;batch_size=32,64"   a grid, one loop
    python flows/e2e.py --use-templates call the blocks from the WorkflowTemplate library
    python flows/e2e.py --schedule "0 3 * * 1"   a CronWorkflow retraining every Monday at 03:00
    python flows/e2e.py --serve ensemble:2:0.9   serve the top 2 models (>= 90 %) as one ensemble
    python flows/e2e.py --load-test 30s  load-test the served model after serving, beside predict
    python flows/e2e.py --rollout canary:10   a better model serves 10 % first, verified, then all
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path, PurePosixPath

from hera.workflows import DAG, Workflow
from hera.workflows import models as m

from mlflows import local, submit
from mlflows.canary import Canary, parse_rollout
from mlflows.cli import OneLineParser, run_cli
from mlflows.datasets import DATASET_VERSIONS, dataset_version
from mlflows.ensemble import EnsembleServing, EnsembleTasks
from mlflows.errors import UserError
from mlflows.library import SERVICE_PARAMETER, TemplateLibrary, library_workloads
from mlflows.load_testing import LoadTest, load_test, summary
from mlflows.memoize import MemoCache
from mlflows.modes import refuse_options_without_their_mode
from mlflows.names import k8s_name, suggest_name
from mlflows.output import write_file, write_stdout
from mlflows.patterns import fan_in, follow_each
from mlflows.rendering import ARGO_VERSIONS, DEFAULT_ARGO_VERSION, render, to_yaml
from mlflows.rollout_summary import rollout_summary
from mlflows.schedule import cron_workflow
from mlflows.semaphores import TrainingSlots
from mlflows.specs import LIMITS, ModelSpec, check_specs, select_specs, with_overrides
from mlflows.sweep import expand, parse_space
from mlflows.workloads import TRAINER_IMAGE, Workloads

# One line per model; a hyperparameter sweep is more lines.
MODELS = [
    ModelSpec(name="cnn", architecture="cnn"),
    ModelSpec(name="dropout", architecture="dropout"),
    ModelSpec(name="batch-norm", architecture="batch_norm"),
]


def build_workflow(
    models: list[ModelSpec] = MODELS,
    *,
    dataset: str = "fashion_mnist",
    namespace: str = "mlflows",
    image: str = TRAINER_IMAGE,
    cache_max_age: str = MemoCache.max_age,
    asynchronous: bool = True,
    library: TemplateLibrary | None = None,
    loop: bool = True,
    max_concurrent_training: int | None = None,
    sweep: str | None = None,
    sweep_samples: int | None = None,
    seed: int = 0,
    serve: EnsembleServing | None = None,
    load: LoadTest | None = None,
    rollout: Canary | None = None,
) -> Workflow:
    """The pipeline; with a ``library``, its tasks call the library's WorkflowTemplates by
    templateRef instead of holding their templates (and the image and cache age are the ones
    the library was rendered with). ``loop``: the branches are one task looping over the specs
    (one ``branch`` template, whatever their number), not one set of tasks per spec.
    ``max_concurrent_training``: every train template holds the namespace's training semaphore,
    whose size (this number) is in the ConfigMap ``mlflows setup-manifests`` makes.
    ``sweep``: a search space (:mod:`mlflows.sweep`) that a ``sweep`` step expands over each
    of ``models`` (the grid, or ``sweep_samples`` random points drawn with ``seed``), the loop
    running over its output (``withParam``). ``load``: a ``load-test`` step after serve, beside
    predict (:mod:`mlflows.load_testing`).
    ``rollout``: each promote rolls its model out as a verified canary (:mod:`mlflows.rollout`),
    and the pipeline ends reading the service (``served``) rather than selecting and serving.
    ``serve``: an ensemble of the best models (:mod:`mlflows.ensemble`) instead of the best one,
    served once every branch has ended (the branches promote nothing of their own)."""
    models = check_specs(models)
    if rollout is not None and (not asynchronous or library is not None):
        raise UserError(
            "--rollout canary: the promote steps roll out each model, so it needs --fan-in "
            "async and no --use-templates; drop one"
        )
    if serve is not None and (not loop or library is not None):
        given = "--use-templates" if library is not None else "--fan-out static"
        raise UserError(f"--serve ensemble: it serves the loop's models; drop {given}")
    if serve is not None and rollout is not None:
        raise UserError(
            "--serve ensemble: the ensemble is served once, after every branch, so no model "
            "is rolled out as a canary; drop --rollout"
        )
    if sweep is not None:  # expanded here too, so that a mistake shows before anything runs
        expand(models, parse_space(sweep), sweep_samples, seed)
        if not loop:
            raise UserError("--fan-out static: a --sweep runs as a loop; drop --fan-out static")
    elif sweep_samples is not None:
        raise UserError("--sweep-samples: it draws from a --sweep space; give one")
    if load is not None and library is not None:
        raise UserError(
            "--load-test: the WorkflowTemplate library has no load-test template yet; "
            "drop --use-templates or --load-test"
        )
    if library is not None:
        if loop and not asynchronous:
            raise UserError(
                "--fan-in sync: the library's branch promotes each model as it is evaluated; "
                "drop --fan-in sync, or add --fan-out static"
            )
        built = library_workloads()
        for option, given, held in (
            ("--image", image, built.image),
            ("--cache-max-age", cache_max_age, built.cache.max_age),
        ):
            if given != held:
                raise UserError(
                    f"{option} {given}: the library's templates hold their own ({held}); "
                    f"drop {option}, or --use-templates to render the templates into the workflow"
                )
    workloads = Workloads(
        image=image,
        cache=MemoCache(max_age=cache_max_age),
        service_name=suggest_name(dataset),
        library=library,
        training_slots=None if max_concurrent_training is None else TrainingSlots(),
        content_addressed=loop,
        rollout=rollout,
    )
    if max_concurrent_training is not None:
        TrainingSlots().manifest(namespace, max_concurrent_training)  # refuses a bad number
        if library is not None:
            raise UserError(
                "--max-concurrent-training: the library's train template holds no semaphore; "
                "drop --use-templates or this option"
            )
    arguments = {"dataset": dataset, "dataset-version": dataset_version(dataset)}
    if library is not None:  # the library's templates read the service's name, and carry the volume
        arguments[SERVICE_PARAMETER] = workloads.service_name
    with Workflow(
        generate_name="e2e-",
        namespace=k8s_name(namespace, "namespace"),
        entrypoint="pipeline",
        arguments=arguments,
        volumes=[workloads.volume.volume()] if library is None else None,
        service_account_name=workloads.accounts.steps,
        pod_gc=m.PodGC(strategy="OnPodSuccess"),
    ) as workflow:
        with DAG(name="pipeline"):
            data = workloads.ingest()
            if loop:  # each item promotes itself (async); select reads the loop's outputs
                swept = None
                if sweep is not None:
                    swept = workloads.sweep(models, sweep, sweep_samples, seed)
                promote = asynchronous and serve is None
                branches = workloads.branches(models, data, promote=promote, swept=swept)
                branches.depends = " && ".join(t.name for t in (data, swept) if t is not None)
                ended = [branches]
                select = None if rollout or serve else workloads.select_trained(branches)
            else:
                ended = [
                    data >> workloads.train(spec) >> workloads.evaluate(spec) for spec in models
                ]
                if asynchronous:  # each model is served as soon as it beats the one being served
                    ended = follow_each(ended, workloads.promote)
                select = None if rollout else workloads.select(models)
            if serve is not None:  # the graph is what is served, predict asks it
                served = EnsembleTasks(workloads, serve).after(branches)
            else:
                if rollout is not None:  # the canaries chose what serves
                    served = fan_in(ended, join=workloads.served())
                else:
                    served = fan_in(ended, join=select) >> workloads.serve()
                served >> workloads.predict(served)
            if load is not None:
                served >> load_test(workloads, served, load)
    return workflow


def served_summary(result: local.RunResult, rollout: Canary | None = None) -> str:
    """What a local run ends with: the model being served, and one prediction it made."""
    if rollout is not None:  # which model the canaries left serving, and each one's decision
        canaries = rollout_summary(result, lambda model_dir: trained_as(result, model_dir))
        return f"{canaries}; {result.node('predict').outputs.result}"
    selected = result.node("select").outputs.parameters
    if "members" in selected:  # an ensemble
        members = json.loads(selected["members"])
        each = ", ".join(
            f"{m['name']} {trained_as(result, m['model_dir'])} {float(m['accuracy']):.4f}"
            for m in members
        )
        ensemble = float(result.node("evaluate-ensemble").outputs.parameters["accuracy"])
        return (
            f"served: an ensemble of {len(members)} ({each}), accuracy {ensemble:.4f} beside "
            f"the best model's {float(selected['accuracy']):.4f}; "
            f"{result.node('predict').outputs.result}"
        )
    best = json.loads(selected["result"])["best"]["model_dir"]
    return (
        f"served: {trained_as(result, best)} (accuracy {float(selected['accuracy']):.4f}); "
        f"{result.node('predict').outputs.result}"
    )


def trained_as(result: local.RunResult, model_dir: str) -> str:
    """The spec that trained the model in ``model_dir``: the loop stores models by content
    (``models/<key>``), so the folder names no spec; the loop item that output it does."""
    for node in result.nodes:
        if "model" in node.inputs and node.outputs and node.outputs.parameters:
            if node.outputs.parameters.get("model-dir") == model_dir:
                return node.inputs["model"]
    return PurePosixPath(model_dir).name  # the static fan-out's folder is the spec's name


def load_options(args: argparse.Namespace) -> LoadTest:
    """The load test --load-test and --load-test-concurrency ask for."""
    if args.load_test_concurrency is None:
        return LoadTest(duration=args.load_test)
    return LoadTest(duration=args.load_test, concurrency=args.load_test_concurrency)


def training_limit(args: argparse.Namespace, folder: Path) -> str:
    """A file in ``folder`` holding the semaphore's ConfigMap, for a local run to apply."""
    path = folder / "training-limit.yaml"
    slots = TrainingSlots().manifest(args.namespace, args.max_concurrent_training)
    path.write_text(to_yaml(slots))
    return str(path)


# --fan-out's choices, as build_workflow's ``loop``.
FAN_OUTS = {"loop": True, "static": False}

# Options that override a field of every spec (checked against the spec's own limits).
SPEC_OPTIONS = {
    "--workers": ("workers", "TFJob workers per model"),
    "--epochs": ("epochs", "training epochs per model"),
    "--steps-per-epoch": ("steps_per_epoch", "training steps per epoch"),
}


SUBMITTING, RUNNING_HERE = "submitting to a cluster", "running on this machine"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        description="Render, submit or run the end-to-end Fashion-MNIST pipeline.",
    )
    flow = parser.add_argument_group("the pipeline")
    flow.add_argument(
        "--namespace",
        default="mlflows",
        help="Kubernetes namespace to run in (default: %(default)s)",
    )
    flow.add_argument(
        "--image",
        default=TRAINER_IMAGE,
        help="image with mlflows[ml] for every step (default: %(default)s)",
    )
    flow.add_argument(
        "--models",
        default=",".join(spec.name for spec in MODELS),
        help=f"comma-separated model specs to train, one branch each (known: "
        f"{', '.join(spec.name for spec in MODELS)})",
    )
    for option, (field, what) in SPEC_OPTIONS.items():
        flow.add_argument(
            option, type=int, help=f"{what}, {LIMITS[field]} (default: each spec's own)"
        )
    flow.add_argument(
        "--dataset",
        default="fashion_mnist",
        choices=sorted(DATASET_VERSIONS),
        help="dataset to ingest (default: %(default)s); "
        "'digits' ships with scikit-learn and needs no internet",
    )
    flow.add_argument(
        "--cache-max-age",
        default="24h",
        help="how long a memoized ingestion stays valid, a Go duration (default: %(default)s)",
    )
    flow.add_argument(
        "--fan-in",
        choices=("async", "sync"),
        default="async",
        help="async (default): serve each model as soon as it beats the served one; "
        "sync: select after all",
    )
    flow.add_argument(
        "--fan-out",
        choices=tuple(FAN_OUTS),
        default="loop",
        help="loop (default): one task looping over the specs, the same templates whatever "
        "their number; static: one train, evaluate and promote task per spec",
    )
    flow.add_argument(
        "--sweep",
        metavar="SPACE",
        help='sweep each model over a search space, e.g. "learning_rate=1e-3,3e-3;batch_size=32,64"'
        " (the grid), or ranges low..high with --sweep-samples; a sweep step expands it and the "
        "loop runs over its output",
    )
    flow.add_argument(
        "--sweep-samples",
        type=int,
        metavar="N",
        help="a random search: N points per model drawn from the --sweep space",
    )
    flow.add_argument(
        "--seed", type=int, default=0, help="the random search's seed (default: %(default)s)"
    )
    flow.add_argument(
        "--max-concurrent-training",
        type=int,
        metavar="N",
        help="at most N TFJobs at once in the namespace: a semaphore on the train templates, "
        "sized by the ConfigMap `mlflows setup-manifests --max-concurrent-training N` creates",
    )
    flow.add_argument(
        "--rollout",
        default="replace",
        metavar="replace|canary[:PERCENT]",
        help="how a model that beats the served one is served: replace (default) takes all "
        "traffic at once; canary:PERCENT (default 10) gives it PERCENT of the traffic as a KServe "
        "canary, probes it against the served revision, then promotes it or rolls it back",
    )
    flow.add_argument(
        "--serve",
        default="single",
        metavar="single|ensemble:K[:T]",
        help="single (default): serve the best model; ensemble:K[:T]: serve the top K models at "
        "or above accuracy T (default 0) behind one InferenceGraph that averages their class "
        "probabilities, once every branch has ended",
    )
    flow.add_argument(
        "--use-templates",
        nargs="?",
        const="namespace",
        choices=("namespace", "cluster"),
        help="call the building blocks by templateRef from the WorkflowTemplate library of this "
        "mlflows version (mlflows templates) instead of holding them; 'cluster': from its "
        "ClusterWorkflowTemplates",
    )
    flow.add_argument(
        "--schedule",
        metavar="CRON",
        help='a CronWorkflow running the pipeline on this cron schedule, e.g. "0 3 * * 1" '
        "(Mondays at 03:00), instead of a Workflow",
    )
    flow.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the time zone of --schedule, e.g. Europe/Berlin (default: the controller's)",
    )
    flow.add_argument(
        "--load-test",
        metavar="DURATION",
        help="after serving, beside predict, drive the served model for DURATION (e.g. 30s) and "
        "output req/s, p50/p99 latency and errors (report: runs/<workflow>/load-test.json)",
    )
    flow.add_argument(
        "--load-test-concurrency",
        type=int,
        metavar="N",
        help=f"connections the load test sends on at once (default: {LoadTest.concurrency})",
    )
    flow.add_argument(
        "--argo-version",
        choices=ARGO_VERSIONS,
        default=DEFAULT_ARGO_VERSION,
        help="Argo Workflows version to render for (default: %(default)s)",
    )
    flow.add_argument(
        "--output",
        metavar="FILE",
        help="write the rendered YAML here: instead of stdout, or beside --submit/--local",
    )
    submit.add_arguments(parser.add_argument_group(SUBMITTING))
    running = parser.add_argument_group(RUNNING_HERE)
    running.add_argument(
        "--local", action="store_true", help="run the pipeline here, not on a cluster"
    )
    local.add_arguments(running)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.local and args.submit:
        raise UserError("--local and --submit: choose one, run here or on the cluster")
    refuse_options_without_their_mode(
        parser, args, {SUBMITTING: "--submit", RUNNING_HERE: "--local"}
    )
    overrides = {field: getattr(args, field) for field, _ in SPEC_OPTIONS.values()}
    for option, (field, _) in SPEC_OPTIONS.items():
        if overrides[field] is not None:
            LIMITS[field].admit(overrides[field], option)
    models = with_overrides(
        select_specs([name.strip() for name in args.models.split(",") if name.strip()], MODELS),
        **overrides,
    )
    if args.timezone is not None and args.schedule is None:
        raise UserError("--timezone: it is the time zone of a --schedule; give one")
    if args.load_test_concurrency is not None and args.load_test is None:
        raise UserError(
            "--load-test-concurrency: it sets the load test's connections; give --load-test too"
        )
    workflow = build_workflow(
        models,
        dataset=args.dataset,
        namespace=args.namespace,
        image=args.image,
        cache_max_age=args.cache_max_age,
        asynchronous=args.fan_in == "async",
        loop=FAN_OUTS[args.fan_out],
        sweep=args.sweep,
        sweep_samples=args.sweep_samples,
        seed=args.seed,
        load=None if args.load_test is None else load_options(args),
        rollout=parse_rollout(args.rollout),
        max_concurrent_training=args.max_concurrent_training,
        serve=EnsembleServing.parse(args.serve),
        library=None
        if args.use_templates is None
        else TemplateLibrary(cluster_scope=args.use_templates == "cluster"),
    )
    manifest = render(workflow, args.argo_version)
    if args.schedule is not None:
        manifest = cron_workflow(manifest, args.schedule, args.timezone)
    text = to_yaml(manifest)
    if args.output:  # first, so a bad path stops everything before a run or a submission
        write_file(args.output, text, "--output")
    if args.local:
        with tempfile.TemporaryDirectory() as scratch:
            if args.max_concurrent_training is not None:  # the ConfigMap a cluster would hold
                args.apply = [*(args.apply or []), training_limit(args, Path(scratch))]
            result = local.run_from_args(manifest, args)
        if result.succeeded:
            print(served_summary(result, parse_rollout(args.rollout)))
            if args.load_test is not None:
                print(f"load test: {summary(result.node('load-test').outputs.parameters)}")
        return result.exit_code
    if args.submit:
        return submit.submit_from_args(manifest, args)
    if not args.output:
        write_stdout(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
