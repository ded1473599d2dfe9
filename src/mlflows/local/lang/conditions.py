"""A resource template's ``successCondition`` / ``failureCondition``, evaluated as Argo does.

Argo (``workflow/executor/resource.go``) parses each condition with Kubernetes' label-selector
parser (``labels.Parse``) and reads every requirement's key as a gjson path into the object's
JSON. So the grammar is a label selector's::

    status.replicaStatuses.Worker.succeeded = 2        =, == (equal), != (not equal)
    status.modelStatus.transitionStatus in (A,B)       in, notin (a set; "()" is the empty string)
    status.startTime                                   exists;  !status.completionTime: does not
    status.replicaStatuses.Worker.failed > 0           >, < (both sides integers)
    a = 1, b = 2                                       comma: every requirement

and keys and values obey label rules: a key is at most 63 characters of letters, digits, ``-``,
``_`` and ``.`` (plus an optional ``dns.prefix/``), a value the same or empty. gjson queries,
modifiers and wildcards (``#``, ``@``, ``*``, ``?``) therefore cannot be written; a key is a plain
dotted path, where a number indexes an array.

Values are compared as strings (gjson's string form: ``true``, ``3``, ``0.5``; an object's raw
JSON); ``>`` and ``<`` parse both sides as integers. A missing key matches ``!=``, ``notin`` and
``!key`` only, as in Kubernetes.

Argo applies the two conditions differently, and so does :meth:`Conditions.evaluate`: the failure
condition fails the step as soon as ANY of its requirements matches, the success condition needs
ALL of its requirements; failure is checked first. With only a failure condition, the success
condition is empty and so met at the first check that does not fail.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from mlflows.errors import UserError


class Outcome(Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    WAITING = "waiting"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str = ""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # one of OPERATORS
    values: tuple[str, ...]

    def matches(self, document: dict) -> bool:
        value, exists = gjson_get(document, self.key)
        if self.operator in ("=", "==", "in"):
            return exists and value in self.values
        if self.operator in ("!=", "notin"):
            return not exists or value not in self.values
        if self.operator == "exists":
            return exists
        if self.operator == "!":
            return not exists
        number = _go_int(value) if exists else None
        if number is None:
            return False
        bound = int(self.values[0])
        return number > bound if self.operator == ">" else number < bound

    def __str__(self) -> str:
        """The requirement as Kubernetes prints it (and Argo quotes it in its messages)."""
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        return f"{self.key}{self.operator}{self.values[0]}"


@dataclass(frozen=True)
class Conditions:
    success: tuple[Requirement, ...] = ()
    failure: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, success: str | None, failure: str | None) -> Conditions:
        return cls(
            parse_selector(success or "", "successCondition"),
            parse_selector(failure or "", "failureCondition"),
        )

    @property
    def waits(self) -> bool:
        """Argo returns at once, without reading the object, when neither condition is given."""
        return bool(self.success or self.failure)

    def evaluate(self, document: dict) -> Verdict:
        for requirement in self.failure:
            if requirement.matches(document):
                return Verdict(Outcome.FAILED, f"failure condition '{requirement}' evaluated true")
        if all(requirement.matches(document) for requirement in self.success):
            return Verdict(Outcome.SUCCEEDED)
        return Verdict(Outcome.WAITING)


# ---------------------------------------------------------------------------------------------
# gjson: the lookup Argo does for each key


def gjson_get(document: object, path: str) -> tuple[str, bool]:
    """gjson's ``Get(json, path)`` for a plain dotted path: ``(.String(), .Exists())``."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and re.fullmatch(r"[0-9]+", part) and int(part) < len(value):
            value = value[int(part)]
        else:
            return "", False
    return _gjson_string(value), True


def _gjson_string(value: object) -> str:
    if value is None:
        return ""  # JSON null exists but reads as ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # gjson formats a non-integer literal with Go's FormatFloat(f, 'f', -1): no exponent.
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _go_int(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``: optional sign, ASCII digits, 64-bit range."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


# ---------------------------------------------------------------------------------------------
# Kubernetes' label-selector parser (apimachinery pkg/labels/selector.go), token for token

OPERATORS = ("=", "==", "!=", "in", "notin", "exists", "!", ">", "<")
_SYMBOLS = ("==", "!=", "=", "!", ">", "<", "(", ")", ",")  # longest first
_SPECIAL = set("=!(),><")
_IDENTIFIER, _END = "identifier", "end of string"
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_GJSON_SYNTAX = set("#@*?|\\[]{}\"'")
_MAX_LABEL = 63


def parse_selector(text: str, field: str) -> tuple[Requirement, ...]:
    """``labels.Parse(text)``'s requirements, sorted by key as Kubernetes sorts them.

    Raises UserError naming ``field`` and what to write instead.
    """
    try:
        requirements = _Parser(_tokens(text)).selector()
    except ValueError as error:
        raise UserError(f"resource.{field} {text!r}: {error}") from None
    return tuple(sorted(requirements, key=lambda requirement: requirement.key))


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, literal) pairs; ``in``/``notin`` are keywords only where an operator may stand."""
    tokens, position = [], 0
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position == len(text):
            tokens.append((_END, "<end>"))
            return tokens
        if text[position] in _SPECIAL:
            symbol = next(s for s in _SYMBOLS if text.startswith(s, position))
            tokens.append((symbol, symbol))
            position += len(symbol)
            continue
        start = position
        while position < len(text) and text[position] not in _SPECIAL | set(" \t\r\n"):
            position += 1
        literal = text[start:position]
        tokens.append((literal if literal in ("in", "notin") else _IDENTIFIER, literal))


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.position = 0

    def peek(self, operator_allowed: bool = False) -> tuple[str, str]:
        kind, literal = self.tokens[self.position]
        if kind in ("in", "notin") and not operator_allowed:
            kind = _IDENTIFIER  # "x = in" compares with the word "in"
        return kind, literal

    def take(self, operator_allowed: bool = False) -> tuple[str, str]:
        token = self.peek(operator_allowed)
        self.position += 1
        return token

    def selector(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self.peek()
            if kind == _END:
                return requirements
            if kind not in (_IDENTIFIER, "!"):
                raise ValueError(f"found '{literal}', expected: !, a key, or the end")
            requirements.append(self.requirement())
            kind, literal = self.take()
            if kind == _END:
                return requirements
            if kind != ",":
                raise ValueError(f"found '{literal}', expected: ',' or the end")
            if self.peek()[0] not in (_IDENTIFIER, "!"):
                raise ValueError(f"found '{self.peek()[1]}', expected: a requirement after ','")

    def requirement(self) -> Requirement:
        negated = self.peek()[0] == "!"
        if negated:
            self.take()
        kind, key = self.take()
        if kind != _IDENTIFIER:
            raise ValueError(f"found '{key}', expected: a key")
        _check_key(key)
        if self.peek()[0] in (_END, ","):
            return _requirement(key, "!" if negated else "exists", [])
        if negated:
            raise ValueError(f"found '{self.peek()[1]}' after !{key}; '!key' takes no operator")
        operator, literal = self.take(operator_allowed=True)
        if operator not in ("in", "notin", "=", "==", "!=", ">", "<"):
            raise ValueError(f"found '{literal}' after {key}, expected: =, ==, !=, in, notin, >, <")
        values = self.value_set() if operator in ("in", "notin") else self.single_value()
        return _requirement(key, operator, values)

    def value_set(self) -> list[str]:
        kind, literal = self.take()
        if kind != "(":
            raise ValueError(f"found '{literal}', expected: '(' after in/notin")
        values: set[str] = set()
        expect_value = True
        while True:
            kind, literal = self.take()
            if kind == ")":
                if expect_value:
                    values.add("")  # "()", "(a,)": the empty string is a value
                return sorted(values)
            if kind == "," and expect_value:
                values.add("")
            elif kind == _IDENTIFIER and expect_value:
                values.add(literal)
                expect_value = False
                continue
            elif kind != ",":
                raise ValueError(f"found '{literal}', expected: a value, ',' or ')'")
            expect_value = True

    def single_value(self) -> list[str]:
        if self.peek()[0] in (_END, ","):
            return [""]
        kind, literal = self.take()
        if kind != _IDENTIFIER:
            raise ValueError(f"found '{literal}', expected: a value")
        return [literal]


def _requirement(key: str, operator: str, values: list[str]) -> Requirement:
    if operator in (">", "<") and _go_int(values[0]) is None:
        raise ValueError(f"{key} {operator} {values[0]}: '>' and '<' compare with an integer")
    for value in values:
        if len(value) > _MAX_LABEL or (value and not _LABEL_NAME.fullmatch(value)):
            raise ValueError(
                f"value '{value}' is not a label value (at most 63 letters, digits, '-', '_', "
                "'.', starting and ending with a letter or digit); Argo cannot parse it either"
            )
    return Requirement(key, operator, tuple(values))


def _check_key(key: str) -> None:
    if _GJSON_SYNTAX & set(key):
        raise ValueError(
            f"key '{key}' uses gjson query/modifier syntax, but Argo parses conditions as "
            "Kubernetes label selectors; use a plain dotted path such as "
            "status.modelStatus.transitionStatus (a number indexes an array)"
        )
    prefix, _, name = key.rpartition("/")
    if "/" in key and ("/" in prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise ValueError(f"key '{key}': the part before '/' must be a lowercase DNS name")
    if len(name) > _MAX_LABEL or not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"key '{key}' is not a label key (at most 63 letters, digits, '-', '_', '.', "
            "starting and ending with a letter or digit); Argo cannot parse it either"
        )
