"""The local runner: run a Workflow on this machine with Argo's semantics.

``run(workflow)`` runs a Hera Workflow, a dict or a YAML file; ``add_arguments`` and
``run_from_args`` give a flow the runner's command-line options. See :mod:`mlflows.local.runner`.
"""

from mlflows.local.runner import RunResult, add_arguments, run, run_from_args

__all__ = ["RunResult", "add_arguments", "run", "run_from_args"]
