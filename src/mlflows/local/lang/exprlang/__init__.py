"""expr-lang, the language of Argo's ``depends``, ``{{=...}}`` tags, ``retryStrategy.expression``,
hooks' ``expression`` and output parameters' ``valueFrom.expression``, evaluated without ``eval``.

Follows github.com/expr-lang/expr v1.17.8, the version Argo v4.1.2 builds with, and its
``docs/language-definition.md``: here the tokens of ``parser/lexer`` and the grammar and
precedence of ``parser/parser.go`` (``not in``, chained comparisons ``1 < x < 3``, ``??`` not
mixed with other operators, ``a ? b : c``, predicates with ``#``/``.field``, pipes, ``let``,
``if {} else {}``); the tree evaluates in :mod:`.tree`, its operators are
:mod:`.operators`, the functions :mod:`.functions` and
:mod:`.sprig`. Argo (``util/expr/env/env.go``) nests its flat ``a.b.c``
variables into the environment (``util/expand``, :func:`nest`); names holding ``-`` are written
``tasks['my-task']``.

:func:`check` parses an expression and refuses, in one line, what the local runner cannot
evaluate (an unknown function or ``sprig.NAME``, time functions, method calls), before anything
runs; :func:`evaluate` runs it over an environment of JSON-like values. Every failure is an
:class:`ExprError` whose one-line message ends with the ``(line:column)`` it happened at, as
expr's does. Not followed: indexing a string (expr gives a byte) is an error; strings are sliced
and searched (``indexOf``) by characters rather than bytes, which differs only beyond ASCII;
integers do not wrap at 64 bits; ``keys``/``values`` keep the map's order (Go's is random).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlflows.local.lang.exprlang import tree
from mlflows.local.lang.exprlang.functions import (
    ARGO_FUNCTIONS,
    BUILTINS,
    UNSUPPORTED,
    jsonpath_steps,
)
from mlflows.local.lang.exprlang.govalues import Function, GoPanic, text, to_json
from mlflows.local.lang.exprlang.sprig import SPRIG


class ExprError(ValueError):
    """The expression cannot be parsed, is refused, or failed; the message is one line."""


class ExprUnsupported(ExprError):
    """Valid expr-lang, as Argo evaluates it, using what the local runner does not evaluate."""


# ---------------------------------------------------------------------------------------------
# Tokens (parser/lexer)

_TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*|/\*.*?\*/)
      | (?P<number>(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+
                    |(?:[0-9][0-9_]*(?:\.(?!\.)[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?)
                   (?P<suffix>[\w$]*))
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<raw>`[^`]*`)
      | (?P<pointer>\#[\w$]*)
      | (?P<name>[^\W\d][\w$]*|\$[\w$]*)
      | (?P<operator>\?\?|\?\.|\.\.|\*\*|==|!=|<=|>=|&&|\|\||[-+*/%^!<>=?:,;.|])
      | (?P<bracket>[()\[\]{}])""",
    re.VERBOSE | re.DOTALL,
)
_WORDS = {"not", "in", "or", "and", "matches", "contains", "startsWith", "endsWith", "let"}
_WORDS |= {"if", "else"}
_ESCAPE = re.compile(
    r"\\(u\{[0-9a-fA-F]{1,6}\}|[xX][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-3][0-7]{2}|.)",
    re.DOTALL,
)
_NAMED_ESCAPES = dict(zip("abfnrtv\\'\"`?", "\a\b\f\n\r\t\v\\'\"`?", strict=True))


@dataclass(frozen=True)
class _Token:
    kind: str  # number | string | name | operator | bracket | pointer | end
    text: str  # as written (a string's quotes included)
    position: int
    value: Any = None  # a literal's value


def _unescape(literal: str) -> str:
    def replace(match: re.Match) -> str:
        escape = match.group(1)
        if escape in _NAMED_ESCAPES:
            return _NAMED_ESCAPES[escape]
        if len(escape) > 1 and escape[0] in "xXuU":
            code = int(escape.strip("xXuU{}"), 16)
            if code <= 0x10FFFF:
                return chr(code)
        elif len(escape) == 3:
            return chr(int(escape, 8))
        raise ExprError("unable to unescape string")

    return _ESCAPE.sub(replace, literal[1:-1].replace("\r\n", "\n"))


def _tokens(source: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if source.startswith("/*", position) and (match is None or match.lastgroup != "space"):
            raise _SyntaxError("unclosed comment", position)
        if match is None:
            char = source[position]
            if char in "\"'`":
                raise _SyntaxError("literal not terminated", position)
            raise _SyntaxError(f"unrecognized character: U+{ord(char):04X} {char!r}", position)
        kind, written = match.lastgroup, match.group(0)
        if match.group("suffix"):
            raise _SyntaxError(f"bad number syntax: {written!r}", position)
        if kind == "number":
            tokens.append(_Token(kind, written, position, _number(written, position)))
        elif kind in ("string", "raw"):
            try:
                value = _unescape(written) if kind == "string" else written[1:-1]
            except ExprError as err:
                raise _SyntaxError(str(err), position) from None
            tokens.append(_Token("string", written, position, value))
        elif kind == "name" and written in ("b", "B") and _quote_at(source, match.end()):
            raise _Unsupported('bytes literals (b"...") are not supported locally', position)
        elif kind != "space":
            tokens.append(_Token("operator" if written in _WORDS else kind, written, position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _quote_at(source: str, position: int) -> bool:
    return source[position : position + 1] in ("'", '"')


def _number(written: str, position: int) -> int | float:
    digits = written.replace("_", "")
    try:
        if digits[:2].lower() in ("0x", "0o", "0b"):
            number = int(digits, 0)
        elif any(char in digits.lower() for char in ".e"):
            return float(digits)
        else:
            number = int(digits)
    except ValueError:
        raise _SyntaxError(f"bad number syntax: {written!r}", position) from None
    if number >= 2**63:
        raise _SyntaxError("integer literal is too large", position)
    return number


def _is_name(token: _Token) -> bool:
    """A name after a dot: an identifier, or a word such as ``contains`` or ``in``."""
    return token.kind == "name" or (token.kind == "operator" and token.text in _WORDS)


class _SyntaxError(Exception):
    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


class _Unsupported(_SyntaxError):
    """What expr-lang has and the runner does not evaluate (an :class:`ExprUnsupported`)."""


# ---------------------------------------------------------------------------------------------
# The parser (parser/parser.go): precedence climbing over expr's operator table

_BINARY = {"|": 0, "or": 10, "||": 10, "and": 15, "&&": 15, "..": 25, "+": 30, "-": 30}
_BINARY |= dict.fromkeys(("==", "!=", "<", ">", ">=", "<=", "in", "matches"), 20)
_BINARY |= dict.fromkeys(("contains", "startsWith", "endsWith"), 20)
_BINARY |= {"*": 60, "/": 60, "%": 60, "**": 100, "^": 100, "??": 500}
_UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
_NEGATABLE = {"in", "matches", "contains", "startsWith", "endsWith"}
_COMPARISONS = {"<", ">", "<=", ">="}


class _Parser:
    def __init__(self, source: str):
        self.tokens = _tokens(source)
        self.index = 0
        self.depth = 0  # how many predicates we are in: where # and .field mean the item

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.index += token.kind != "end"
        return token

    def at(self, kind: str, *texts: str) -> bool:
        token = self.peek()
        return token.kind == kind and (not texts or token.text in texts)

    def expect(self, kind: str, text: str) -> _Token:
        if not self.at(kind, text):
            raise self.unexpected()
        return self.take()

    def unexpected(self, token: _Token | None = None) -> _SyntaxError:
        token = token or self.peek()
        if token.kind == "end":
            return _SyntaxError("unexpected end of expression", token.position)
        return _SyntaxError(f"unexpected token {token.text!r}", token.position)

    def parse(self) -> tree.Node:
        node = self.sequence()
        if not self.at("end"):
            raise self.unexpected()
        return node

    def sequence(self) -> tree.Node:
        nodes = [self.expression()]
        while self.at("operator", ";"):
            self.take()
            if self.at("end"):
                break
            nodes.append(self.expression())
        return nodes[0] if len(nodes) == 1 else tree.Sequence(nodes[0].position, tuple(nodes))

    def expression(self, precedence: int = 0) -> tree.Node:
        if precedence == 0 and self.at("operator", "let"):
            return self.let()
        if precedence == 0 and self.at("operator", "if"):
            return self.if_else()
        node, previous = self.primary(), ""
        while self.at("operator"):
            token, negate = self.peek(), self.at("operator", "not")
            if negate:
                token = self.peek(1)
                if token.kind != "operator" or token.text not in _NEGATABLE:
                    raise self.unexpected(token)
                if _BINARY[token.text] < precedence:
                    break
                self.take()
            if _BINARY.get(token.text, -1) < precedence:
                break
            self.take()
            if token.text == "|":
                node = self.pipe(node)
            elif previous == "??" and token.text != "??":
                raise _SyntaxError(
                    f"Operator ({token.text}) and coalesce expressions (??) cannot be mixed. "
                    "Wrap either by parentheses.",
                    token.position,
                )
            elif token.text in _COMPARISONS:
                node = self.comparison(node, token)
            else:
                right_associative = token.text in ("**", "^")
                right = self.expression(_BINARY[token.text] + (0 if right_associative else 1))
                node = tree.Binary(token.position, token.text, node, right)
                if negate:
                    node = tree.Unary(token.position, "not", node)
            previous = token.text
        return self.ternary(node) if precedence == 0 else node

    def comparison(self, left: tree.Node, token: _Token) -> tree.Node:
        """``a < b <= c`` is ``a < b && b <= c``."""
        chain: tree.Node | None = None
        while True:
            right = self.expression(_BINARY[token.text] + 1)
            compared = tree.Binary(token.position, token.text, left, right)
            chain = (
                compared if chain is None else tree.Binary(token.position, "&&", chain, compared)
            )
            left, token = right, self.peek()
            if not (token.kind == "operator" and token.text in _COMPARISONS):
                return chain
            self.take()

    def ternary(self, node: tree.Node) -> tree.Node:
        while self.at("operator", "?"):
            position = self.take().position
            if self.at("operator", ":"):  # a ?: b
                self.take()
                node = tree.Conditional(position, node, node, self.expression())
                continue
            yes = self.expression()
            self.expect("operator", ":")
            node = tree.Conditional(position, node, yes, self.expression())
        return node

    def let(self) -> tree.Node:
        self.take()
        name = self.take()
        if name.kind != "name":
            raise self.unexpected(name)
        self.expect("operator", "=")
        value = self.expression()
        self.expect("operator", ";")
        return tree.Let(name.position, name.text, value, self.sequence())

    def if_else(self) -> tree.Node:
        position = self.take().position
        condition = self.expression()
        yes = self.block()
        self.expect("operator", "else")
        no = self.if_else() if self.at("operator", "if") else self.block()
        return tree.Conditional(position, condition, yes, no)

    def block(self) -> tree.Node:
        self.expect("bracket", "{")
        node = self.sequence()
        self.expect("bracket", "}")
        return node

    def primary(self) -> tree.Node:
        token = self.peek()
        if token.kind == "operator" and token.text in _UNARY:
            self.take()
            operand = self.expression(_UNARY[token.text])
            operator = "not" if token.text == "!" else token.text
            return self.postfix(tree.Unary(token.position, operator, operand))
        if self.at("bracket", "("):
            self.take()
            node = self.sequence()
            self.expect("bracket", ")")
            return self.postfix(node)
        if token.kind == "pointer" or self.at("operator", "."):
            if self.depth == 0:
                raise _SyntaxError(
                    f"{token.text or '.'} means the item only inside a predicate, "
                    "e.g. filter(list, # > 1)",
                    token.position,
                )
            name = token.text[1:] if token.kind == "pointer" else ""
            if name not in ("", "index", "acc"):
                raise _SyntaxError(f"unknown pointer {token.text}", token.position)
            if token.kind == "pointer":
                self.take()
            return self.postfix(tree.Pointer(token.position, name))
        return self.secondary()

    def secondary(self) -> tree.Node:
        token = self.take()
        node: tree.Node
        if token.kind == "name":
            constants = {"true": True, "false": False, "nil": None}
            if token.text in constants:
                return tree.Literal(token.position, constants[token.text])
            if token.text == "sprig":
                return self.postfix(self.sprig(token))
            if self.at("bracket", "("):
                node = self.call(token, [])
            else:
                node = tree.Name(token.position, token.text)
        elif token.kind in ("number", "string"):
            node = tree.Literal(token.position, token.value)
        elif token.kind == "bracket" and token.text == "[":
            node = tree.Array(token.position, tuple(self.items("]", self.expression)))
        elif token.kind == "bracket" and token.text == "{":
            node = tree.Map(token.position, tuple(self.items("}", self.pair)))
        else:
            raise self.unexpected(token)
        return self.postfix(node)

    def items(self, closing: str, item: Callable[[], Any]) -> list:
        """Comma-separated items up to ``closing``; a trailing comma is allowed."""
        items: list = []
        while not self.at("bracket", closing):
            if items:
                self.expect("operator", ",")
                if self.at("bracket", closing):
                    break
            items.append(item())
        self.take()
        return items

    def pair(self) -> tuple[tree.Node, tree.Node]:
        token = self.peek()
        if token.kind in ("number", "string", "name"):
            self.take()
            key: tree.Node = tree.Literal(
                token.position, token.value if token.kind == "string" else token.text
            )
        elif self.at("bracket", "("):
            key = self.expression()
        else:
            raise _SyntaxError(
                "a map key must be a quoted string, a number, a identifier, or an expression "
                f"enclosed in parentheses (unexpected token {token.text!r})",
                token.position,
            )
        self.expect("operator", ":")
        return key, self.expression()

    def postfix(self, node: tree.Node) -> tree.Node:
        while self.at("operator", ".", "?.") or self.at("bracket", "["):
            token = self.take()
            optional = token.text == "?."
            if token.text == "[" or (optional and self.at("bracket", "[")):
                if optional:
                    self.take()
                node = self.subscript(token, node, optional)
                continue
            name = self.take()
            if not _is_name(name):
                raise _SyntaxError("expected name", name.position)
            if self.at("bracket", "("):
                raise _Unsupported(
                    f"method calls such as .{name.text}() are not supported by the local runner",
                    name.position,
                )
            chained = isinstance(node, tree.Chain)
            member = tree.Member(
                name.position,
                node.node if chained else node,
                tree.Literal(name.position, name.text),
                optional,
            )
            node = tree.Chain(name.position, member) if chained or optional else member
        return node

    def subscript(self, token: _Token, node: tree.Node, optional: bool) -> tree.Node:
        start = None if self.at("operator", ":") else self.expression()
        if self.at("operator", ":"):
            self.take()
            stop = None if self.at("bracket", "]") else self.expression()
            self.expect("bracket", "]")
            return tree.Slice(token.position, node, start, stop)
        self.expect("bracket", "]")
        member = tree.Member(token.position, node, start, optional)
        return tree.Chain(token.position, member) if optional else member

    def pipe(self, left: tree.Node) -> tree.Node:
        token = self.take()
        if token.kind != "name" or not self.at("bracket", "("):
            raise _SyntaxError(
                "'|' must be followed by a function call such as lower() (in expr-lang a "
                "sprig function cannot follow a pipe)",
                token.position,
            )
        return self.call(token, [left])

    def call(self, token: _Token, arguments: list[tree.Node]) -> tree.Node:
        name = token.text
        if name in tree.PREDICATES:
            return self.predicate(token, arguments)
        function = ARGO_FUNCTIONS.get(name) or BUILTINS.get(name)
        if function is None:
            if name in UNSUPPORTED:
                raise _Unsupported(f"{name}() is not supported by the local runner", token.position)
            raise _SyntaxError(f"unknown function {name}()", token.position)
        return self.arguments(token, name, function, arguments)

    def sprig(self, token: _Token) -> tree.Node:
        name = self.peek(1)
        if not (self.at("operator", ".") and _is_name(name) and self.peek(2).text == "("):
            raise _SyntaxError("sprig's functions are called as sprig.NAME(...)", token.position)
        self.take()
        self.take()
        if name.text not in SPRIG:
            raise _Unsupported(
                f"sprig.{name.text}() is not supported by the local runner", name.position
            )
        return self.arguments(name, f"sprig.{name.text}", SPRIG[name.text], [])

    def arguments(
        self, token: _Token, name: str, function: Function, given: list[tree.Node]
    ) -> tree.Node:
        self.expect("bracket", "(")
        arguments = given + self.items(")", self.expression)
        error = function.arity_error(len(arguments))
        if error is not None:
            raise _SyntaxError(f"{name}(): {error}", token.position)
        if (
            name == "jsonpath"
            and isinstance(arguments[1], tree.Literal)
            and isinstance(arguments[1].value, str)
        ):
            try:
                jsonpath_steps(arguments[1].value)
            except GoPanic as err:
                raise _SyntaxError(str(err), arguments[1].position) from None
        return tree.Call(token.position, name, function, tuple(arguments))

    def predicate(self, token: _Token, given: list[tree.Node]) -> tree.Node:
        self.expect("bracket", "(")
        arguments = list(given)
        for number, kind in enumerate(("e",) + tree.PREDICATES[token.text][0]):
            if number < len(given):
                continue
            if self.at("bracket", ")"):
                if kind.endswith("?"):
                    break
                raise _SyntaxError(f"{token.text}() expects a list and a predicate", token.position)
            if number > len(given):
                self.expect("operator", ",")
            arguments.append(self.closure() if kind.startswith("p") else self.expression())
        if self.at("operator", ","):
            self.take()
        self.expect("bracket", ")")
        body, extra = (arguments[1:] + [None, None])[:2]
        return tree.Predicate(token.position, token.text, arguments[0], body, extra)

    def closure(self) -> tree.Node:
        braces = self.at("bracket", "{")
        if braces:
            self.take()
        self.depth += 1
        body = self.sequence() if braces else self.expression()
        self.depth -= 1
        if braces:
            self.expect("bracket", "}")
        elif self.at("operator", ";"):
            raise _SyntaxError("wrap predicate with brackets { and }", self.peek().position)
        return body


# ---------------------------------------------------------------------------------------------
# The API


def _located(
    message: str, source: str, position: int, error: type[ExprError] = ExprError
) -> ExprError:
    line = source.count("\n", 0, position) + 1
    column = position - (source.rfind("\n", 0, position) + 1) + 1
    return error(f"{' '.join(message.splitlines())} ({line}:{column})")


@dataclass(frozen=True)
class Expression:
    """A parsed expression, to evaluate over as many environments as needed."""

    source: str
    root: tree.Node

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        run = tree.Run(env)
        try:
            return self.root.evaluate(run)
        except GoPanic as err:
            raise _located(str(err), self.source, run.at) from None


@functools.lru_cache(maxsize=1024)
def parse(expression: str) -> Expression:
    """The expression parsed, or ExprError (one line, with where) when it is not valid expr or
    uses what the local runner does not evaluate (then an :class:`ExprUnsupported`)."""
    try:
        return Expression(expression, _Parser(expression).parse())
    except _SyntaxError as err:
        error = ExprUnsupported if isinstance(err, _Unsupported) else ExprError
        raise _located(str(err), expression, err.position, error) from None
    except RecursionError:
        raise ExprError("the expression is nested too deeply") from None


def check(expression: str) -> None:
    """Refuse, before anything runs, an expression the local runner cannot evaluate."""
    parse(expression)


def evaluate(expression: str, env: Mapping[str, Any]) -> Any:
    """The expression's value over ``env`` (JSON-like values: dict, list, str, int, float, bool,
    None for nil); ExprError for an unknown name, a type mismatch or a failing function."""
    return parse(expression).evaluate(env)


def evaluate_bool(expression: str, env: Mapping[str, Any]) -> bool:
    """A condition (``depends``, ``retryStrategy.expression``, a hook's ``expression``): its
    value must be a bool, as Argo's ``argoexpr.EvalBool`` requires."""
    value = evaluate(expression, env)
    if not isinstance(value, bool):
        raise ExprError(f"unable to cast expression result '{text(value)}' to bool")
    return value


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Argo's environment from its flat variables (``util/expand``): ``{"inputs.parameters.x":
    v}`` is ``{"inputs": {"parameters": {"x": v}}}``. A key that is the parent of the next one
    in sorted order (``inputs.parameters`` before ``inputs.parameters.x``) is dropped, as Argo
    does; a nested key also wins over any other conflicting parent."""
    keys = sorted(flat)
    nested: dict[str, Any] = {}
    for key, following in zip(keys, [*keys[1:], ""], strict=False):  # "" follows the last
        if following.startswith(key + "."):
            continue
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf] = flat[key]
    return nested


def tag_text(value: Any) -> str:
    """The text Argo v4.1.2 substitutes for an expression tag's value
    (``util/template/expression_template.go``): a string as it is, anything else as its JSON."""
    if value is None:
        raise ExprError("the expression's value is nil")
    try:
        return value if isinstance(value, str) else to_json(value)
    except GoPanic as err:
        raise ExprError(str(err)) from None
