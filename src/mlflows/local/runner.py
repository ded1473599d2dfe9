"""Run a workflow on this machine: the public entry points of the local runner.

Work directory layout (``--work-dir``, default ``.mlflows``):

- ``volumes/<claim>/`` — each PersistentVolumeClaim, persisting across runs like a real claim;
- ``runs/<workflow>/logs/<node>.log`` — each node's stdout and stderr;
- ``runs/<workflow>/nodes/<node>/`` — each pod's scratch directory (private files, ``emptyDir``);
- ``runs/<workflow>/status.json`` — the result as Argo's workflow status (also ``--report-json``).
- ``runs/<workflow>/report.html`` — the run's page: its graph by phase, timeline and logs.

The memo cache lives under ``--cache-dir`` (default ``$XDG_CACHE_HOME/mlflows``) so it outlives
work directories, as Argo's ConfigMap cache outlives workflows.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mlflows.errors import UserError
from mlflows.local.cluster.objects import ObjectStore
from mlflows.local.controller.engine import Engine, template_kind
from mlflows.local.controller.memo import MemoCache, default_cache_dir
from mlflows.local.controller.nodes import Node, file_name
from mlflows.local.controller.parallelism import pod_slots
from mlflows.local.controller.report import workflow_status, write_json
from mlflows.local.executor.http_hosts import check_http_hosts
from mlflows.local.executor.isolation import pod_isolation
from mlflows.local.executor.volumes import VolumeStore
from mlflows.local.history import Resume, save_submission
from mlflows.local.spec.checked import check_workflow
from mlflows.local.spec.manifests import read_manifests
from mlflows.local.spec.names import check_label
from mlflows.local.spec.pod_fields import no_effect_notes
from mlflows.local.spec.templates import TemplateStore
from mlflows.local.spec.workflow import (
    globals_scope,
    has_fixed_name,
    workflow_name,
    workflow_parameters,
)
from mlflows.local.stop_signals import catch_stop_signals
from mlflows.local.view import RunView
from mlflows.viz.report import write_run_report

DEFAULT_WORK_DIR = Path(".mlflows")
GENERATE_NAME_TRIES = 8  # how often a clash of generated names is retried


@dataclass
class RunResult:
    name: str
    namespace: str
    phase: str
    message: str
    nodes: list[Node]
    run_dir: Path
    started_at: float
    finished_at: float
    status: dict  # the report: Argo's WorkflowStatus shape

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"

    @property
    def exit_code(self) -> int:
        return 0 if self.succeeded else 1

    def node(self, display_name: str) -> Node:
        """The first node with this display name (a task or step name, or ``name(attempt)``)."""
        for node in self.nodes:
            if node.display_name == display_name:
                return node
        raise KeyError(f"no node named {display_name!r}")

    def log(self, display_name: str) -> str:
        """The node's stdout and stderr."""
        return (
            self.run_dir / "logs" / f"{file_name(self.node(display_name).name)}.log"
        ).read_text()


def run(
    workflow,
    *,
    parameters: dict[str, str] | None = None,
    work_dir: str | Path = DEFAULT_WORK_DIR,
    cache_dir: str | Path | None = None,
    parallelism: int | None = None,
    keep_serving: bool = False,
    report_json: str | Path | None = None,
    namespace: str | None = None,
    quiet: bool = False,
    templates: list[str | Path] | None = None,
    apply: list[str | Path] | None = None,
    resume: Resume | None = None,
) -> RunResult:
    """Run ``workflow`` (a Hera Workflow, a dict or a YAML path) here with Argo's semantics.

    ``templates`` are files or directories of the WorkflowTemplates and ClusterWorkflowTemplates
    it references; ``apply`` of objects to create before it starts (ConfigMaps, Secrets, and
    WorkflowTemplates too), as ``kubectl apply -f`` would.

    Raises UserError (one line) before anything runs if the workflow or an option is wrong, or
    uses a feature the runner does not support. Ctrl-C, SIGTERM and SIGHUP stop the run, write
    the report and raise KeyboardInterrupt (:class:`~mlflows.local.stop_signals.Terminated` for
    the signals).

    ``resume`` (from :mod:`mlflows.local.history`) runs again in an earlier run's folder, keeping
    its settled nodes: ``mlflows retry``.
    """
    if namespace is not None:
        check_label("--namespace", namespace)
    checked = check_workflow(
        workflow,
        namespace=namespace,
        templates=read_manifests(templates or [], "--templates"),
        applied=read_manifests(apply or [], "--apply"),
    )
    spec_dict, namespace, objects = checked.document, checked.namespace, checked.objects
    # Should the folder of the name drawn from a generateName be taken, the claim draws another.
    name, store, config_maps = checked.name, checked.store, checked.config_maps
    check_http_hosts(store)
    if parallelism is not None and parallelism < 1:
        raise UserError(f"--parallelism {parallelism}: give a positive number of pods")
    slots = pod_slots(store.workflow["spec"], parallelism)  # refuses a TFJob never to start
    isolation = pod_isolation()
    given = {k: str(v) for k, v in (parameters or {}).items()}
    from_config_maps = config_maps.argument_values(
        (store.workflow["spec"].get("arguments") or {}).get("parameters") or [], set(given)
    )
    values = workflow_parameters(store.workflow, {**from_config_maps, **given})
    reached = [template.template for template in store.reached()]
    view = RunView(quiet=quiet)
    memo = MemoCache(Path(cache_dir) if cache_dir else default_cache_dir(work_dir), warn=view.warn)
    if any("memoize" in template for template in reached):
        memo.check_writable()
    if report_json:
        _check_writable_file("--report-json", Path(report_json))
    work_dir = _usable_work_dir(Path(work_dir))
    volumes = VolumeStore(work_dir / "volumes", objects)

    # Only now, with everything checked, is a folder made: the run's own.
    if resume is None or resume.run_dir is None:
        name, run_dir = _claim_run_dir(work_dir, spec_dict, name)
        save_submission(run_dir, spec_dict, given, namespace, templates, apply)
    else:
        name, run_dir = resume.name, resume.run_dir
    try:
        if store.local.name not in ("", name):  # templateScope local/<name> names the run
            store = TemplateStore(spec_dict, store.library, name)
        cluster = _local_cluster(reached, objects, volumes, run_dir, namespace, name, keep_serving)
    except BaseException:
        if resume is None or resume.run_dir is None:
            shutil.rmtree(run_dir)  # made by this run a moment ago, and nothing ran
        raise
    spec_dict = store.workflow

    engine = Engine(
        spec_dict,
        templates=store,
        config_maps=config_maps,
        globals_=globals_scope(spec_dict, name, namespace, values),
        arguments=[{"name": key, "value": value} for key, value in values.items()],
        run_dir=run_dir,
        volumes=volumes,
        memo=memo,
        cluster=cluster,
        pod_slots=slots,
        on_change=view.node_changed,
        prior=resume.prior if resume else None,
    )
    kinds = {template_kind(t) for t in reached}
    pod_kinds = {"container", "script", "containerSet"}
    if kinds & pod_kinds:
        view.note(f"images are not used here: commands run in this environment ({sys.executable})")
    if kinds & (pod_kinds | {"resource"}):  # a resource may run pods (TFJob, KServe)
        view.note(isolation.note())
    for note in no_effect_notes(spec_dict["spec"], reached):
        view.note(note)
    started = time.time()
    restore_signal_handlers = catch_stop_signals()
    try:
        with view.showing():
            phase, message = engine.run()
        finished = time.time()
        nodes = engine.nodes.all()
        status = workflow_status(phase, message, started, finished, nodes)
        write_json(run_dir / "status.json", status)
        write_run_report(run_dir, status)
        if report_json:
            write_json(Path(report_json), status)
        result = RunResult(
            name, namespace, phase, message, nodes, run_dir, started, finished, status
        )
        view.summary(result, Path(report_json) if report_json else run_dir / "status.json")
    finally:
        try:
            if cluster is not None:
                _close(cluster, keep_serving and not engine.interrupted)
        finally:
            restore_signal_handlers()
    if engine.interrupted:
        raise engine.interrupted
    return result


def _usable_work_dir(work_dir: Path) -> Path:
    work_dir = work_dir.resolve()
    if work_dir.exists() and not work_dir.is_dir():
        raise UserError(f"--work-dir {work_dir} is a file; give a directory (made if missing)")
    return work_dir


def _check_writable_file(option: str, path: Path) -> None:
    """UserError now unless ``path`` can be written once the run ends."""
    if path.is_dir():
        raise UserError(f"{option} {path} is a directory; give a file name")
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UserError(f"{option} {path}: {folder} is not a folder this user can write in")


def _claim_run_dir(work_dir: Path, workflow: dict, name: str) -> tuple[str, Path]:
    """The run's name (``name`` if its folder is free) and its folder ``runs/<name>``, made now
    and only if it did not exist.

    As Argo's API server refuses a second Workflow of one name (409 AlreadyExists), a name whose
    folder exists is refused: the folder is never reused or cleared. Making it is the claim, so of
    two runs starting at once only one gets it. A ``generateName`` draws new names on a clash.
    """
    runs = work_dir / "runs"
    fixed = has_fixed_name(workflow)
    try:
        runs.mkdir(parents=True, exist_ok=True)
        for attempt in range(1 if fixed else GENERATE_NAME_TRIES):
            if attempt:
                name = workflow_name(workflow)
            run_dir = runs / name
            try:
                run_dir.mkdir()
            except FileExistsError:
                continue
            return name, run_dir
    except OSError as err:
        raise UserError(f"--work-dir {work_dir}: cannot make {runs} ({err.strerror})") from None
    if fixed:
        raise UserError(
            f"workflow {name!r} already exists: {run_dir} holds its run (Argo refuses a second "
            f"Workflow of one name); delete it first (rm -r {shlex.quote(str(run_dir))}) or give "
            "the workflow metadata.generateName for a new name each run"
        )
    raise UserError(
        f"metadata.generateName: {GENERATE_NAME_TRIES} new names were all taken in {runs}; "
        "give a longer or different prefix"
    )


def _local_cluster(
    templates: list[dict],
    objects: ObjectStore,
    volumes: VolumeStore,
    run_dir: Path,
    namespace: str,
    name: str,
    keep_serving: bool,
):
    """The local Kubernetes stand-in over ``objects``, if any template needs it, with every
    resource checked."""
    resources = [t for t in templates if "resource" in t]
    if not resources:
        return None
    from mlflows.local.cluster.resources import LocalCluster  # its operators: only when needed

    cluster = LocalCluster(
        objects=objects,
        volumes=volumes,
        run_dir=run_dir,
        namespace=namespace,
        workflow_name=name,
        keep_serving=keep_serving,
    )
    try:
        for template in resources:
            outputs = (template.get("outputs") or {}).get("parameters") or []
            cluster.check(template.get("name", "inline"), template["resource"], outputs)
    except BaseException:
        cluster.close()
        raise
    return cluster


def _close(cluster, keep_serving: bool) -> None:
    try:
        cluster.close()
    except KeyboardInterrupt:
        if not keep_serving:
            raise


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The runner's options, for ``mlflows run`` and for flows that offer ``--local``.

    ``parser`` may be a parser or one of its argument groups.
    """
    parser.add_argument(
        "--report-json",
        metavar="FILE",
        help="also write the result as Argo's workflow status JSON here",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="memoization cache (default: WORK_DIR/cache, beside the volumes its entries name)",
    )
    parser.add_argument(
        "--work-dir",
        metavar="DIR",
        default=str(DEFAULT_WORK_DIR),
        help="volumes, logs and run records (default %(default)s)",
    )
    parser.add_argument(  # no type=int: run_from_args reads it, so a mistake is one error line
        "--parallelism",
        metavar="N",
        help="at most N pods at once (default: the workflow's spec.parallelism)",
    )
    parser.add_argument(
        "--keep-serving",
        action="store_true",
        help="keep InferenceServices serving after the run, until Ctrl-C",
    )
    parser.add_argument(
        "--templates",
        nargs="+",
        action="extend",
        metavar="PATH",
        help="WorkflowTemplates and ClusterWorkflowTemplates that templateRef and "
        "workflowTemplateRef name: YAML files (several documents each) or directories of them",
    )
    parser.add_argument(
        "--apply",
        nargs="+",
        action="extend",
        metavar="PATH",
        help="objects to create before the run, as kubectl apply -f: ConfigMaps (read by "
        "valueFrom.configMapKeyRef), Secrets, WorkflowTemplates",
    )


def run_from_args(
    workflow, args: argparse.Namespace, parameters: dict[str, str] | None = None
) -> RunResult:
    """Run with the options :func:`add_arguments` added."""
    return run(
        workflow,
        parameters=parameters,
        work_dir=args.work_dir,
        cache_dir=args.cache_dir,
        parallelism=_pod_count(args.parallelism),
        keep_serving=args.keep_serving,
        report_json=args.report_json,
        namespace=getattr(args, "namespace", None),
        templates=args.templates,
        apply=args.apply,
    )


def _pod_count(text: str | None) -> int | None:
    """``--parallelism``'s value; ``run`` refuses a count below 1."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise UserError(f"--parallelism {text!r}: give a positive number of pods") from None
