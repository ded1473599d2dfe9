"""Argo's expression tags, ``{{=...}}``: the part of expr-lang that workflows use for names.

Supported: string and number literals, references (``inputs.parameters.x``,
``inputs.parameters['model-dir']``, ``workflow.name``, ``tasks['a'].outputs.result``), ``+`` to
join strings or add numbers, and calls of a few string functions: ``sprig.regexReplaceAll``,
``sprig.replace``, ``sprig.lower``/``upper``/``trim``, and expr's ``lower``, ``upper``, ``trim``,
``string``, ``asInt``, ``asFloat``. Anything else is refused before the run (:func:`check`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mlflows.local.lang.expressions import ExpressionError, Token, tokenize, unquote

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+\.?\d*)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>[.\[\](),+])
      | (?P<name>[A-Za-z_]\w*)
    )""",
    re.VERBOSE,
)


def _go_replacement(template: str) -> str:
    """Go's ``$1``/``${name}`` in a replacement, for Python's re."""
    escaped = template.replace("\\", "\\\\")
    return re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", escaped)


FUNCTIONS: dict[str, Callable[..., object]] = {
    "sprig.regexReplaceAll": lambda regex, s, repl: re.sub(regex, _go_replacement(repl), s),
    "sprig.regexReplaceAllLiteral": lambda regex, s, repl: re.sub(regex, lambda _: repl, s),
    "sprig.replace": lambda old, new, s: s.replace(old, new),
    "sprig.lower": str.lower,
    "sprig.upper": str.upper,
    "sprig.trim": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
    "string": lambda value: _text(value),
    "asInt": lambda s: int(str(s)),
    "asFloat": lambda s: float(str(s)),
}


class MissingVariable(Exception):
    """The expression names a variable that is not in scope (yet)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class _Path:
    """A dotted name still being read, e.g. ``inputs.parameters``."""

    parts: tuple[str, ...]

    @property
    def name(self) -> str:
        return ".".join(self.parts)


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Parser:
    def __init__(self, text: str, lookup: Callable[[str], str] | None):
        self.tokens = tokenize(_TOKEN, text, "unsupported syntax at")
        self.position = 0
        self.lookup = lookup  # None: check the syntax and function names only

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> Token:
        if self.position >= len(self.tokens):
            raise ExpressionError("unexpected end")
        token = self.tokens[self.position]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, found {token[1]!r}")
        self.position += 1
        return token

    def parse(self) -> object:
        value = self.sum()
        if self.peek() is not None:
            raise ExpressionError(f"unsupported syntax at {self.peek()!r}")
        return self.resolve(value)

    def sum(self) -> object:
        value = self.postfix()
        while self.peek() == "+":
            self.take()
            left, right = self.resolve(value), self.resolve(self.postfix())
            value = left + right if type(left) is type(right) else _text(left) + _text(right)
        return value

    def postfix(self) -> object:
        value = self.primary()
        while self.peek() in (".", "[", "("):
            operator = self.take()[1]
            if not isinstance(value, _Path):
                raise ExpressionError(f"cannot apply {operator!r} to a value")
            if operator == ".":
                kind, name = self.take()
                if kind != "name":
                    raise ExpressionError(f"expected a name after '.', found {name!r}")
                value = _Path(value.parts + (name,))
            elif operator == "[":
                key = self.resolve(self.sum())
                self.take("]")
                value = _Path(value.parts + (_text(key),))
            else:
                value = self.call(value)
        return value

    def call(self, function: _Path) -> object:
        if function.name not in FUNCTIONS:
            raise ExpressionError(f"function {function.name}() is not supported locally")
        arguments = []
        while self.peek() != ")":
            arguments.append(self.resolve(self.sum()))
            if self.peek() != ")":
                self.take(",")
        self.take(")")
        if self.lookup is None:
            return ""
        try:
            return FUNCTIONS[function.name](*arguments)
        except (TypeError, ValueError, re.error) as err:
            raise ExpressionError(f"{function.name}(): {err}") from None

    def primary(self) -> object:
        kind, text = self.take()
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "string":
            return unquote(text)
        if kind == "name":
            return _Path((text,))
        if text == "(":
            value = self.sum()
            self.take(")")
            return value
        raise ExpressionError(f"unexpected {text!r}")

    def resolve(self, value: object) -> object:
        if not isinstance(value, _Path):
            return value
        if self.lookup is None:
            return ""
        return self.lookup(value.name)


def evaluate(expression: str, lookup: Callable[[str], str]) -> str:
    """The tag's value as text; ``lookup`` gives a variable or raises MissingVariable."""
    try:
        return _text(_Parser(expression, lookup).parse())
    except ExpressionError as err:
        raise ExpressionError(f"expression '{{{{={expression}}}}}': {err}") from None


def check(expression: str) -> None:
    """Raise ExpressionError if the runner cannot evaluate this expression."""
    try:
        _Parser(expression, None).parse()
    except ExpressionError as err:
        raise ExpressionError(f"expression '{{{{={expression}}}}}': {err}") from None
