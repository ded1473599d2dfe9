"""Argo's expression tags, ``{{=...}}``: the part of expr-lang that workflows use for names.

Supported: string and number literals, ``true``/``false``, references (``inputs.parameters.x``,
``inputs.parameters['model-dir']``, ``workflow.name``, ``tasks['a'].outputs.result``), ``+`` to
join strings or add numbers, ``-``, comparisons (``== != < > <= >=``), ``! not && and || or`` on
booleans, and calls of a few string functions: ``sprig.regexReplaceAll``, ``sprig.replace``,
``sprig.lower``/``upper``/``trim``, and expr's ``lower``, ``upper``, ``trim``, ``string``,
``asInt``, ``asFloat``. As in expr-lang, ``==`` of a string and a number is false, while ordering
them, or ``&&`` on a non-boolean, is an error. Anything else is refused before the run
(:func:`check`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from mlflows.local.lang.expressions import ExpressionError, Token, tokenize, unquote

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+\.?\d*)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|&&|\|\||[.\[\](),+\-<>!])
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


_ORDERINGS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
_COMPARISONS = {"==", "!=", *_ORDERINGS}
_LITERALS = {"true": True, "false": False}


def _compare(op: str, left: object, right: object) -> bool:
    """expr-lang's comparison: numbers with numbers, strings with strings; ``==`` of other
    types is false."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
    if op in ("==", "!="):
        same = left == right if numbers or type(left) is type(right) else False
        return same if op == "==" else not same
    if not numbers and not (isinstance(left, str) and isinstance(right, str)):
        raise ExpressionError(f"cannot compare {left!r} {op} {right!r}")
    return _ORDERINGS[op](left, right)


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"'-' needs numbers, not {value!r}")
    return value


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Parser:
    def __init__(
        self,
        text: str,
        lookup: Callable[[str], str] | None,
        known: Collection[str] | None = None,
    ):
        self.tokens = tokenize(_TOKEN, text, "unsupported syntax at")
        self.position = 0
        self.lookup = lookup  # None: check the syntax and function names only
        self.known = known  # when checking: the only variables it may name (None: any)

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
        value = self.either()
        if self.peek() is not None:
            raise ExpressionError(f"unsupported syntax at {self.peek()!r}")
        return self.resolve(value)

    def either(self) -> object:
        value = self.both()
        while self.peek() in ("||", "or"):
            self.take()
            value = self.logical("||", self.resolve(value), self.resolve(self.both()))
        return value

    def both(self) -> object:
        value = self.comparison()
        while self.peek() in ("&&", "and"):
            self.take()
            value = self.logical("&&", self.resolve(value), self.resolve(self.comparison()))
        return value

    def logical(self, op: str, left: object, right: object) -> object:
        if self.lookup is None:
            return ""
        if not isinstance(left, bool) or not isinstance(right, bool):
            raise ExpressionError(f"{op} needs booleans, not {_text(left)!r} and {_text(right)!r}")
        return (left or right) if op == "||" else (left and right)

    def comparison(self) -> object:
        value = self.sum()
        while self.peek() in _COMPARISONS:
            op = self.take()[1]
            left, right = self.resolve(value), self.resolve(self.sum())
            value = "" if self.lookup is None else _compare(op, left, right)
        return value

    def sum(self) -> object:
        value = self.unary()
        while self.peek() in ("+", "-"):
            sign = self.take()[1]
            left, right = self.resolve(value), self.resolve(self.unary())
            if sign == "-":
                value = "" if self.lookup is None else _number(left) - _number(right)
            elif type(left) is type(right):
                value = left + right
            else:
                value = _text(left) + _text(right)
        return value

    def unary(self) -> object:
        if self.peek() == "-":
            self.take()
            value = self.resolve(self.unary())
            return "" if self.lookup is None else -_number(value)
        if self.peek() in ("!", "not"):
            self.take()
            value = self.resolve(self.unary())
            if self.lookup is None:
                return ""
            if not isinstance(value, bool):
                raise ExpressionError(f"! needs a boolean, not {value!r}")
            return not value
        return self.postfix()

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
                key = self.resolve(self.either())
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
            arguments.append(self.resolve(self.either()))
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
            return _LITERALS[text] if text in _LITERALS else _Path((text,))
        if text == "(":
            value = self.either()
            self.take(")")
            return value
        raise ExpressionError(f"unexpected {text!r}")

    def resolve(self, value: object) -> object:
        if not isinstance(value, _Path):
            return value
        if self.lookup is None:
            if self.known is not None and value.name not in self.known:
                raise ExpressionError(f"unknown name {value.name!r}")
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


def evaluate_condition(expression: str, lookup: Callable[[str], object]) -> bool:
    """A bare expression that must give true or false, as Argo's ``expr.EvalBool`` (a
    ``retryStrategy.expression``); ExpressionError says what went wrong, without the text."""
    value = _Parser(expression, lookup).parse()
    if not isinstance(value, bool):
        raise ExpressionError(f"gives {_text(value)!r}, not true or false")
    return value


def check_condition(expression: str, known: Collection[str]) -> None:
    """ExpressionError if :func:`evaluate_condition` cannot read ``expression`` or it names a
    variable outside ``known``."""
    _Parser(expression, None, known).parse()
