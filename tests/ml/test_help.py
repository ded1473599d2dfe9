"""Every option of every ML entry point says what it is for in ``--help``."""

from __future__ import annotations

import argparse
import importlib

import pytest

ENTRY_POINTS = [
    "ingest",
    "train",
    "select",
    "serve",
    "client",
    "load_test",
    "verify",
    "combine",
    "served_accuracy",
]


def parsers(parser: argparse.ArgumentParser, prog: str):
    """``(prog, parser)`` for the parser and, depth first, each of its subcommands'."""
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{prog} {name}")


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_every_option_has_help(name):
    module = importlib.import_module(f"mlflows.ml.{name}")
    undocumented = [
        f"{prog} {action.option_strings[-1]}"
        for prog, parser in parsers(module.build_parser(), name)
        for action in parser._actions
        if action.option_strings and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert undocumented == []


def test_the_check_sees_options_of_subcommands():
    """The check above can fail: it reaches the subcommands' options."""
    from mlflows.ml import select

    options = {
        f"{prog} {action.option_strings[-1]}"
        for prog, parser in parsers(select.build_parser(), "select")
        for action in parser._actions
        if action.option_strings
    }
    assert {"select best --top-k", "select promote --accuracy"} <= options
