"""The ``mlflows`` command: one subcommand per module, each registering itself.

Every user mistake surfaces as a :class:`~mlflows.errors.UserError` and is printed here as a
single ``error: ...`` line with a non-zero exit, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from mlflows.errors import UserError

# Modules that contribute subcommands through ``register(subparsers)``.
COMMAND_MODULES = (
    "mlflows.cluster",
    "mlflows.local.cli",
    "mlflows.schema",
)


def run_cli(main: Callable[[], int | None]) -> int:
    """Call ``main`` and turn a UserError (or Ctrl-C) into one line on stderr and an exit code."""
    try:
        return main() or 0
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    """argparse's own mistakes (a missing argument, an unknown option) as every other mistake:
    one ``error:`` line, exit code 2; subcommand parsers are made of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mlflows",
        description="Distributed ML pipelines as Argo Workflows: render, set up, run locally.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_cli(lambda: args.func(args))
