"""The programs a simple shell string runs, so a missing one is refused before the run.

``sh -c "cowsay hello"`` starts ``sh``, which is here; ``cowsay``, which the image would bring, is
found missing only when the pod runs. POSIX shell grammar (Shell Command Language, 2.9: simple
commands, lists, pipelines) puts a command's name first in each simple command, after its
variable assignments and redirections; :func:`programs_run` reads those names.

It is conservative, because a false refusal stops a workflow that would run: anything it does
not follow — ``case``, functions, aliases, a changed ``PATH``, here-documents, ``eval`` — makes it
name no program at all; names that are expanded (``$x``, ``{{...}}``, globs), paths, reserved
words and the shell's builtins are skipped.
"""

from __future__ import annotations

import re
import shlex

from mlflows.local.lang.templating import TAG

SHELLS = {"sh", "bash", "dash", "ash", "ksh", "zsh"}
OPERATOR_CHARS = ";&|()<>\n"  # control and redirection operators; a newline ends a command too
# Constructs whose words this reader does not follow: no program is named then. (A quoted or
# escaped operator, as find's "\;", reads like the operator once its quotes are gone.)
UNFOLLOWED = re.compile(
    r"\bcase\b|\bfunction\b|\(\s*\)|\balias\b|\bPATH=|<<|\beval\b|\bsource\b"
    r"|(^|[\s;&|])\.\s|\\[;&|()<>]|(['\"])[;&|()<>\s]+\2"
)
PROGRAM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
COMMENT = re.compile(r"(^|[ \t;&|()])#.*$", re.MULTILINE)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Reserved words followed by a command (``then cmd``, ``! cmd``) or ending one: passed over.
RESERVED = frozenset("if then else elif do while until ! { time fi done }".split())
# POSIX special and regular builtins, and bash's: run by the shell, never looked up on PATH.
BUILTINS = frozenset(
    """
    : . [ [[ alias bg bind break builtin caller cd command compgen complete continue declare dirs
    disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill let
    local logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt
    source suspend test times trap true type typeset ulimit umask unalias unset wait
    """.split()
)


def is_shell(program: str) -> bool:
    return program.rsplit("/", 1)[-1] in SHELLS


def shell_script(argv: list[str]) -> str | None:
    """The string a ``sh -c STRING`` command line runs (``-ec``, ``-xc`` too), else None."""
    if len(argv) < 3 or not is_shell(argv[0]):
        return None
    flags = argv[1]
    if flags.startswith("-") and not flags.startswith("--") and flags.endswith("c"):
        return argv[2]
    return None


def programs_run(script: str) -> list[str]:
    """The names of the programs ``script`` runs that the shell looks up on ``PATH``, in order;
    none when the script uses something this reader does not follow."""
    text = TAG.sub("$ARGO_TAG", script)  # a {{...}} tag is known only at run time
    if UNFOLLOWED.search(text):
        return []
    text = COMMENT.sub(r"\1", text.replace("\\\n", " "))
    lexer = shlex.shlex(text, posix=True, punctuation_chars=OPERATOR_CHARS)
    lexer.whitespace, lexer.whitespace_split, lexer.commenters = " \t\r", True, ""
    try:
        words = list(lexer)
    except ValueError:  # unbalanced quotes: the shell itself would fail, say nothing here
        return []
    programs: list[str] = []
    expecting = True  # the next word may name a program
    target_next = False  # the word after a redirection operator is its file
    arithmetic = 0  # inside $(( ... )) or (( ... )): expressions, not commands
    for word in words:
        if word and all(char in OPERATOR_CHARS for char in word):
            arithmetic = max(0, arithmetic + word.count("((") - word.count("))"))
            target_next = "<" in word or ">" in word
            expecting = expecting or not target_next
            continue
        if arithmetic:
            continue
        if target_next:
            target_next = False
            continue
        if not expecting or word in RESERVED or ASSIGNMENT.match(word):
            continue
        expecting = False
        if word in {"for", "select"}:
            continue  # "for x in a b": words, not commands, up to the next separator
        if word in BUILTINS or not PROGRAM_NAME.match(word):
            continue  # a path, an expansion ($x, a glob, {{...}}), an option
        if word not in programs:
            programs.append(word)
    return programs
