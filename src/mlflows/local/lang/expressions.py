"""The two small boolean languages of a workflow, parsed safely (no ``eval``).

- ``when`` (after ``{{...}}`` substitution) is read the way Argo's controller reads it, with
  govaluate: a bare word is a string (``heads == heads``), numbers compare numerically
  (``0.91 > -1``), strings lexically, ``=~``/``!~`` match a regular expression.
- ``depends`` is an expr-lang expression over task results (``a.Succeeded || !b.Failed``); the
  caller maps names to results, with ``-`` in task names already turned into ``_`` as Argo does.

Both share one grammar: ``|| && ! == != < > <= >= =~ !~``, parentheses, quoted strings, numbers,
``true``/``false``; ``depends`` also accepts expr's ``and or not``. The tokenizer also reads
expression tags (:mod:`mlflows.local.lang.expression_tags`), with that language's tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


class Token(NamedTuple):
    kind: str  # the name of the pattern's group that matched: number | string | op | name
    text: str


def tokenize(pattern: re.Pattern, text: str, unexpected: str = "unexpected") -> list[Token]:
    """``text`` as tokens of ``pattern`` (named groups, each after optional white space);
    ExpressionError saying ``unexpected`` and where, at the first character none matches."""
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = pattern.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"{unexpected} {text[position:].strip()[:20]!r}")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
    return tokens


def unquote(literal: str) -> str:
    """A quoted string token's text, backslash escapes undone."""
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


class _Parser:
    """Recursive descent over the tokens, evaluating as it goes."""

    def __init__(self, tokens: list[Token], name_value: Callable[[str], Value], words: bool):
        self.tokens = tokens
        self.position = 0
        self.name_value = name_value
        self.words = words  # expr's `and or not` keywords

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("unexpected end")
        self.position += 1
        return token

    def at(self, *operators: str) -> bool:
        token = self.peek()
        if token is None:
            return False
        return (
            token.kind == "op" or (self.words and token.kind == "name")
        ) and token.text in operators

    def parse(self) -> Value:
        value = self.disjunction()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek().text!r}")
        return value

    def disjunction(self) -> Value:
        value = self.conjunction()
        while self.at("||", "or"):
            self.take()
            value = _logical("||", value, self.conjunction())
        return value

    def conjunction(self) -> Value:
        value = self.comparison()
        while self.at("&&", "and"):
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
        if self.at("!", "not"):
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
            return unquote(token.text)
        if token.kind == "name":
            if token.text in ("true", "false"):
                return token.text == "true"
            return self.name_value(token.text)
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


def _evaluate(text: str, name_value: Callable[[str], Value], words: bool) -> bool:
    try:
        result = _Parser(tokenize(_TOKEN, text), name_value, words).parse()
    except ExpressionError as err:
        raise ExpressionError(f"invalid expression '{text}': {err}") from None
    if not isinstance(result, bool):
        raise ExpressionError(f"expression '{text}' gives {result!r}, not a boolean")
    return result


def evaluate_when(text: str) -> bool:
    """A substituted ``when`` clause; an empty one is true."""
    if not text.strip():
        return True
    return _evaluate(text, lambda name: name, words=False)


def evaluate_depends(text: str, results: dict[str, dict[str, bool]]) -> bool:
    """A resolved ``depends`` expression; ``results[task][Result]`` for each named task."""

    def result_of(name: str) -> bool:
        task, _, result = name.partition(".")
        if task not in results or result not in results[task]:
            raise ExpressionError(f"unknown name {name!r}")
        return results[task][result]

    return _evaluate(text, result_of, words=True)
