"""The ``mlflows`` command: one subcommand per module, each registering itself.

A subcommand's module is imported only when that subcommand runs (as Hera's CLI invokes its
commands by name): ``mlflows --help`` imports none, ``mlflows run`` not Hera, ``mlflows validate``
not Kubernetes. So a core install (no extras) runs every command that does not need TensorFlow,
and starts at once.

Every user mistake surfaces as a :class:`~mlflows.errors.UserError` and is printed here as a
single ``error: ...`` line with a non-zero exit, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import NoReturn

from mlflows.errors import UserError
from mlflows.output import flush_stdout


@dataclass(frozen=True)
class Command:
    module: str  # registers this command (and maybe others) through ``register(subparsers)``
    help: str  # what ``mlflows --help`` lists without importing the module; the module's own


# In the order ``mlflows --help`` lists them; a module's commands are next to each other.
COMMANDS = {
    "run": Command(
        "mlflows.local.cli", "run a Workflow YAML file on this machine with Argo's semantics"
    ),
    "cache": Command("mlflows.local.cli", "list or prune the local memoization cache"),
    "list": Command("mlflows.local.history_cli", "list the local runs of a work directory"),
    "get": Command("mlflows.local.history_cli", "print the summary of a local run"),
    "retry": Command(
        "mlflows.local.history_cli", "rerun a failed or stopped local run from its failed nodes"
    ),
    "resubmit": Command(
        "mlflows.local.history_cli", "start a new local run of a run's workflow and parameters"
    ),
    "validate": Command(
        "mlflows.schema",
        "check rendered workflows and TFJob/InferenceService manifests against the schemas",
    ),
    "schemas": Command(
        "mlflows.schema_fetch", "download the engines' published schemas that validate uses"
    ),
    "setup-manifests": Command(
        "mlflows.cluster",
        "print the PVC, ServiceAccounts and RBAC the pipeline needs in a namespace",
    ),
    "templates": Command(
        "mlflows.library",
        "print the building blocks as versioned WorkflowTemplates to kubectl apply",
    ),
    "graph": Command("mlflows.viz.cli", "draw a workflow's DAG as Mermaid text or SVG"),
    "report": Command(
        "mlflows.viz.cli", "write the HTML page of a run: its graph by phase, timeline and logs"
    ),
}


def run_cli(main: Callable[[], int | None]) -> int:
    """Call ``main`` and turn a UserError (or Ctrl-C) into one line on stderr and an exit code
    (130 for Ctrl-C, 128+N for a run stopped by signal N)."""
    try:
        code = main() or 0
        flush_stdout()
        return code
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM/SIGHUP during a local run
        print(str(interruption) or "interrupted", file=sys.stderr)
        return getattr(interruption, "exit_code", 130)


class OneLineParser(argparse.ArgumentParser):
    """argparse's own mistakes (a missing argument, an unknown option) as every other mistake:
    one ``error:`` line, exit code 2; subcommand parsers are made of this class too, and so are
    the flows' and examples' own parsers."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(chosen: Collection[str] = COMMANDS) -> argparse.ArgumentParser:
    """The parser with the options of the ``chosen`` commands; the others are only listed."""
    parser = OneLineParser(
        prog="mlflows",
        description="Distributed ML pipelines as Argo Workflows: render, set up, run locally.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {COMMANDS[name].module for name in chosen}
    for name, command in COMMANDS.items():
        if command.module not in modules:
            subparsers.add_parser(name, help=command.help)
        elif name not in subparsers.choices:  # the module added it with its other commands
            importlib.import_module(command.module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # mlflows itself has no option taking a value: its first other word names the command.
    named = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser([named] if named in COMMANDS else []).parse_args(argv)
    return run_cli(lambda: args.func(args))
