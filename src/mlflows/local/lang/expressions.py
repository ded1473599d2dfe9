"""``when``, govaluate's boolean language, parsed safely (no ``eval``).

A ``when`` (after ``{{...}}`` substitution) is read the way Argo's controller reads it
(workflow/controller/steps.go ``shouldExecute``): a bare word is a string (``heads == heads``),
numbers compare numerically (``0.91 > -1``), strings lexically, ``=~``/``!~`` match a regular
expression; ``|| && !``, parentheses, quoted strings, ``true``/``false``. (``depends`` and
``{{=...}}`` are expr-lang: :mod:`mlflows.local.lang.exprlang`.)
"""

from __future__ import annotations

import re
from typing import NamedTuple

Value = bool | float | str

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+\.?\d*|\.\d+)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|=~|!~|&&|\|\||[<>!()-])
      | (?P<name>[^\W\d][\w.]*)
    )""",
    re.VERBOSE,
)
_COMPARATORS = {"==", "!=", "<", ">", "<=", ">=", "=~", "!~"}


class ExpressionError(ValueError):
    """The expression cannot be parsed or evaluated; the message quotes it."""


class _Token(NamedTuple):
    kind: str  # the name of the pattern's group that matched: number | string | op | name
    text: str


def _tokenize(text: str) -> list[_Token]:
    """``text`` as tokens; ExpressionError naming where none matches."""
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"unexpected {text[position:].strip()[:20]!r}")
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(literal: str) -> str:
    """A quoted string token's text, backslash escapes undone."""
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


class _Parser:
    """Recursive descent over the tokens, evaluating as it goes."""

    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.position = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("unexpected end")
        self.position += 1
        return token

    def at(self, *operators: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.text in operators

    def parse(self) -> Value:
        value = self.disjunction()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek().text!r}")
        return value

    def disjunction(self) -> Value:
        value = self.conjunction()
        while self.at("||"):
            self.take()
            value = _logical("||", value, self.conjunction())
        return value

    def conjunction(self) -> Value:
        value = self.comparison()
        while self.at("&&"):
            self.take()
            value = _logical("&&", value, self.comparison())
        return value

    def comparison(self) -> Value:
        value = self.unary()
        while self.at(*_COMPARATORS):
            operator = self.take().text
            value = _compare(operator, value, self.unary())
        return value

    def unary(self) -> Value:
        if self.at("!"):
            self.take()
            operand = self.unary()
            if not isinstance(operand, bool):
                raise ExpressionError(f"'!' needs a boolean, not {operand!r}")
            return not operand
        if self.at("-"):
            self.take()
            operand = self.unary()
            if isinstance(operand, bool) or not isinstance(operand, float):
                raise ExpressionError(
                    f"'-' needs a number, not {operand!r}; quote strings that contain '-'"
                )
            return -operand
        return self.primary()

    def primary(self) -> Value:
        token = self.take()
        if token.kind == "number":
            return float(token.text)
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "name":
            if token.text in ("true", "false"):
                return token.text == "true"
            return token.text  # govaluate's variables are strings here, as in Argo
        if token.text == "(":
            value = self.disjunction()
            if not self.at(")"):
                raise ExpressionError("missing ')'")
            self.take()
            return value
        raise ExpressionError(f"unexpected {token.text!r}")


def _logical(operator: str, left: Value, right: Value) -> bool:
    if not isinstance(left, bool) or not isinstance(right, bool):
        raise ExpressionError(f"'{operator}' needs booleans, not {left!r} and {right!r}")
    return (left and right) if operator == "&&" else (left or right)


def _compare(operator: str, left: Value, right: Value) -> bool:
    if operator in ("==", "!="):
        same = type(left) is type(right) and left == right
        return same if operator == "==" else not same
    if operator in ("=~", "!~"):
        if not isinstance(left, str) or not isinstance(right, str):
            raise ExpressionError(f"'{operator}' needs strings, not {left!r} and {right!r}")
        try:
            found = re.search(right, left) is not None
        except re.error as err:
            raise ExpressionError(f"bad regular expression {right!r}: {err}") from err
        return found if operator == "=~" else not found
    comparable = (isinstance(left, float) and isinstance(right, float)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if not comparable or isinstance(left, bool) or isinstance(right, bool):
        raise ExpressionError(f"cannot compare {left!r} {operator} {right!r}")
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[
        operator
    ]


def evaluate_when(text: str) -> bool:
    """A substituted ``when`` clause; an empty one is true."""
    if not text.strip():
        return True
    try:
        result = _Parser(_tokenize(text)).parse()
    except ExpressionError as err:
        raise ExpressionError(f"invalid expression '{text}': {err}") from None
    if not isinstance(result, bool):
        raise ExpressionError(f"expression '{text}' gives {result!r}, not a boolean")
    return result
