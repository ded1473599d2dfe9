"""The ``mlflows`` command and the flow's options as a whole: every option explained, each
subcommand importing only its own code, and output that cannot be written one error line."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from repo_workflows import REPO, load_flow

from mlflows import cli


def subcommands(
    parser: argparse.ArgumentParser, path: str
) -> Iterator[tuple[str, argparse.Action]]:
    """(command path, action) for every action of ``parser`` and of its subcommands, nested."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from subcommands(subparser, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


@pytest.mark.parametrize("program", ["mlflows", "flows/e2e.py"])
def test_every_option_of_every_command_says_what_it_does(program):
    if program == "mlflows":
        parser = cli.build_parser()
    else:
        parser = load_flow(REPO / program).build_parser()
    actions = list(subcommands(parser, program))
    assert len(actions) > 10
    unexplained = [
        f"{path} {action.option_strings or action.dest}"
        for path, action in actions
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert unexplained == []


def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and its subcommands' parsers, nested."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield from parsers(subparser)


def test_help_texts_are_plain_text_not_docstring_markup():
    """A description taken from a module docstring shows in a terminal as written."""
    every = list(parsers(cli.build_parser()))
    assert len(every) > 10
    marked = [p.prog for p in every if re.search(r"``|:[a-z]+:`", p.format_help())]
    assert marked == []


def test_every_command_says_what_it_does_in_its_own_help():
    """``mlflows X --help`` starts with a description, not only the usage line."""
    every = list(parsers(cli.build_parser()))
    assert [p.prog for p in every if not (p.description or "").strip()] == []


def test_the_command_list_shows_each_commands_own_help():
    """``mlflows --help`` lists the commands without importing them: from cli.COMMANDS, which
    must say what each module registers."""
    [registered] = [a for a in cli.build_parser()._actions if a.dest == "command"]
    [listed] = [a for a in cli.build_parser(chosen=())._actions if a.dest == "command"]
    assert list(registered.choices) == list(listed.choices) == list(cli.COMMANDS)

    def helps(action: argparse._SubParsersAction) -> dict[str, str]:
        return {choice.dest: choice.help for choice in action._choices_actions}

    assert helps(registered) == helps(listed) == {n: c.help for n, c in cli.COMMANDS.items()}


HEAVY = ("tensorflow", "hera", "jsonschema", "kubernetes", "mlflows.local")
# What each command may import of HEAVY, besides nothing.
NEEDS = {
    (): (),
    ("run",): ("mlflows.local",),
    ("cache", "list"): ("mlflows.local",),
    ("list",): ("mlflows.local",),
    ("retry",): ("mlflows.local",),
    ("validate",): ("jsonschema",),
    ("schemas", "fetch"): ("jsonschema",),
    ("setup-manifests",): ("hera",),
    ("templates",): ("hera",),
    ("graph",): (),
    ("report",): (),
}


@pytest.mark.parametrize("command", list(NEEDS), ids=lambda c: " ".join(c) or "mlflows")
def test_a_command_imports_only_what_it_needs(command):
    script = (
        "import sys\n"
        "from mlflows.cli import main\n"
        "try:\n"
        f"    main({[*command, '--help']!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(__import__('json').dumps(sorted({{m.split('.')[0] if not m.startswith("
        f"'mlflows.local') else 'mlflows.local' for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    imported = json.loads(result.stdout.splitlines()[-1])
    assert "usage: mlflows" in result.stdout
    assert imported == sorted(NEEDS[command])


@pytest.mark.parametrize(
    "argv",
    [
        ["flows/e2e.py"],
        ["-m", "mlflows", "setup-manifests"],
        ["-m", "mlflows", "templates"],
        ["-m", "mlflows", "validate", "flows/e2e.yaml", "--schema-dir", "{schemas}"],
    ],
    ids=lambda argv: " ".join(argv[1:] if argv[0] == "-m" else argv).replace(" {schemas}", ""),
)
def test_output_that_cannot_be_written_is_one_line(argv, request):
    if "{schemas}" in argv:
        schemas = request.getfixturevalue("schema_dir")
        argv = [str(schemas) if word == "{schemas}" else word for word in argv]
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, *argv], cwd=REPO, stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert result.returncode != 0
    assert result.stderr == "error: cannot write to standard output: No space left on device\n"


def test_output_file_on_a_full_disk_is_left_as_it_was(tmp_path):
    """On a file system too small for the workflow, --output fails in one line and the file it
    would have replaced keeps its content (it was not truncated and half-written)."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare: cannot mount a small file system")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        f"mount -t tmpfs -o size=12k tmpfs {disk} && echo old > {disk}/wf.yaml && "
        f'{sys.executable} flows/e2e.py --output {disk}/wf.yaml; echo "exit $?"; '
        f"cat {disk}/wf.yaml; ls -A {disk}"
    )
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    if "mount:" in result.stderr or "unshare:" in result.stderr:
        pytest.skip(f"cannot mount a small file system here: {result.stderr.strip()}")
    assert result.stderr == (
        f"error: --output: cannot write {disk}/wf.yaml: No space left on device\n"
    )
    assert result.stdout.splitlines() == ["exit 2", "old", "wf.yaml"]
