"""The sprig functions Argo puts in an expression's environment as ``sprig.NAME(...)``.

Argo v4.1.2 (``util/expr/env/env.go``) exposes all of sprig v3.3.0's ``GenericFuncMap`` but
``env``/``expandenv``; this is the deterministic, commonly used part of it, each with sprig's
argument order (the value last: ``sprig.replace(old, new, s)``) and its Go semantics: numbers
are converted as spf13/cast does (``sprig.int("3.7")`` is 3, ``sprig.int("x")`` 0), and a
function that swallows its error in sprig swallows it here. Dates, randomness, crypto keys,
semver, URLs and network look-ups are not here, so :func:`exprlang.check` refuses them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import posixpath
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mlflows.local.lang.exprlang.govalues import (
    Function,
    GoPanic,
    deep_equal,
    from_json,
    is_number,
    parse_float,
    parse_int,
    quote,
    regex,
    text,
    to_json,
    type_name,
)
from mlflows.local.lang.exprlang.govalues import expand as expand_template

# strconv.ParseInt(s, 0, 64): a 0x, 0b, 0o or bare 0 (octal) prefix, underscores only after one
_GO_INT = re.compile(
    r"(?P<sign>[+-]?)(?:0[xX](?P<x>(?:_?[0-9a-fA-F])+)|0[bB](?P<b>(?:_?[01])+)"
    r"|0[oO](?P<o>(?:_?[0-7])+)|0(?P<zero>(?:_?[0-7])+)|(?P<decimal>0|[1-9][0-9]*))"
)
_BASES = {"x": 16, "b": 2, "o": 8, "zero": 8, "decimal": 10}
_DECIMAL = re.compile(r"([-+]?[0-9]*)(\.[0-9]*)?")


def _parse_int_base0(value: str) -> int | None:
    """``strconv.ParseInt(value, 0, 64)``: None where Go returns an error."""
    match = _GO_INT.fullmatch(value)
    if match is None:
        return None
    prefix = next(name for name in _BASES if match.group(name) is not None)
    number = int(match.group(prefix).replace("_", ""), _BASES[prefix])
    number = -number if match.group("sign") == "-" else number
    return number if -(2**63) <= number < 2**63 else None


def to_int(value: Any) -> int:
    """``cast.ToInt``: numbers truncated, bools 1/0, strings parsed (a decimal's fraction
    dropped), anything unparsable 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if is_number(value):
        return int(value) if not isinstance(value, float) or math.isfinite(value) else 0
    if isinstance(value, str):
        if "." in value:
            match = _DECIMAL.fullmatch(value)
            if match is not None:
                value = {"": "0", "-": "-0", "+": "+0"}.get(match.group(1), match.group(1))
        return _parse_int_base0(value) or 0
    return 0


def to_float(value: Any) -> float:
    """``cast.ToFloat64``: numbers and bools converted, strings parsed, anything else 0."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or is_number(value):
        return float(value)
    if isinstance(value, str):
        return parse_float(value) or 0.0
    return 0.0


def strval(value: Any) -> str:
    return value if isinstance(value, str) else text(value)


def empty(value: Any) -> bool:
    """sprig's notion of unset: nil, false, 0, and an empty string, list or map."""
    if value is None:
        return True
    if isinstance(value, (bool, int, float)):
        return not value
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    return False


def _list(value: Any, action: str, after: str = "") -> list:
    """The value as a list, or sprig's error, e.g. "Cannot find first on type string"."""
    if value is None:
        raise GoPanic("runtime error: invalid memory address or nil pointer dereference")
    if not isinstance(value, list):
        kind = "map" if isinstance(value, dict) else type_name(value)  # Go's reflect.Kind
        raise GoPanic(f"Cannot {action} type {kind}{after}")
    return value


def _listed(action: str, apply: Callable[..., Any]) -> Callable[..., Any]:
    """A sprig list function: ``apply`` to its first argument, which must be a list."""
    return lambda value, *rest: apply(_list(value, action), *rest)


def _strings(value: Any) -> list[str]:
    """sprig's ``strslice``: a list's non-nil items as text; any other value, one item."""
    if isinstance(value, list):
        return [strval(item) for item in value if item is not None]
    return [] if value is None else [strval(value)]


def _member(item: Any, items: Sequence[Any]) -> bool:
    return any(deep_equal(item, other) for other in items)


def _uniq(items: list) -> list:
    unique: list = []
    for item in items:
        if not _member(item, unique):
            unique.append(item)
    return unique


def _matches(pattern: re.Pattern, value: str, limit: int = -1) -> Iterator[re.Match]:
    """Go's successive matches: an empty match right after the previous match is skipped."""
    found, previous_end = 0, -1
    for match in pattern.finditer(value):
        if limit >= 0 and found >= limit:
            return
        if match.start() == match.end() == previous_end:
            continue
        found, previous_end = found + 1, match.end()
        yield match


def _replace_all(expression: str, value: str, replacement: Any) -> str:
    pattern = regex(expression)
    out, position = [], 0
    for match in _matches(pattern, value):
        out.append(value[position : match.start()])
        out.append(replacement(match))
        position = match.end()
    return "".join(out) + value[position:]


def _regex_split(expression: str, value: str, limit: int) -> list[str]:
    """``Regexp.Split``."""
    if limit == 0:
        return []
    if expression and not value:
        return [""]
    parts, begin, end = [], 0, 0
    for match in _matches(regex(expression), value, limit):
        if limit > 0 and len(parts) == limit - 1:
            break
        end = match.start()
        if match.end() != 0:
            parts.append(value[begin:end])
        begin = match.end()
    if end != len(value):
        parts.append(value[begin:])
    return parts


def _regex_match(expression: str, value: str) -> bool:
    try:
        return regex(expression).search(value) is not None
    except GoPanic:
        return False  # sprig's regexMatch swallows a bad pattern


def _substr(start: int, end: int, value: str) -> str:
    try:
        if start < 0:
            return _bounded(value, 0, end)
        if end < 0 or end > len(value):
            return _bounded(value, start, len(value))
        return _bounded(value, start, end)
    except IndexError:
        raise GoPanic(f"runtime error: slice bounds out of range [{start}:{end}]") from None


def _bounded(value: str, start: int, end: int) -> str:
    if not 0 <= start <= end <= len(value):
        raise IndexError
    return value[start:end]


def _trunc(count: int, value: str) -> str:
    if count < 0 and len(value) + count > 0:
        return value[len(value) + count :]
    if count >= 0 and len(value) > count:
        return value[:count]
    return value


def _repeat(count: int, value: str) -> str:
    if count < 0:
        raise GoPanic("strings: negative Repeat count")
    return value * count


def _until_step(start: int, stop: int, step: int) -> list[int]:
    if (stop < start and step >= 0) or (stop >= start and step <= 0):
        return []
    return list(range(start, stop, step))


def _seq(*bounds: int) -> str:
    """``seq 5`` is "1 2 3 4 5", ``seq 2 5``, ``seq 0 2 10`` (start, step, end)."""
    if len(bounds) == 1:
        start, end, step = 1, bounds[0], 1 if bounds[0] >= 1 else -1
    elif len(bounds) == 2:
        start, end = bounds
        step = 1 if end >= start else -1
    elif len(bounds) == 3:
        start, step, end = bounds
        if end < start and step > 0:
            return ""
    else:
        return ""
    return " ".join(map(str, _until_step(start, end + (1 if end >= start else -1), step)))


def _int_division(left: Any, right: Any, remainder: bool) -> int:
    dividend, divisor = to_int(left), to_int(right)
    if divisor == 0:
        raise GoPanic("runtime error: integer divide by zero")
    quotient = abs(dividend) // abs(divisor) * (1 if (dividend < 0) == (divisor < 0) else -1)
    return dividend - quotient * divisor if remainder else quotient  # Go truncates toward zero


def _round(value: Any, places: int, *round_on: float) -> float:
    threshold = round_on[0] if round_on else 0.5
    scale = 10.0**places
    digit = scale * to_float(value)
    fraction = math.modf(digit)[0]
    return (math.ceil(digit) if fraction >= threshold else math.floor(digit)) / scale


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _decoder(name: str, alphabet: str, decode: Callable[[str], bytes]) -> Callable[[str], str]:
    """sprig's b64dec/b32dec: a bad input's error text is the value (Go skips line breaks)."""

    def decoded(value: str) -> str:
        data = value.replace("\r", "").replace("\n", "")
        try:
            return decode(data).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            stripped = data.rstrip("=")
            bad = next((i for i, c in enumerate(stripped) if c not in alphabet), len(stripped))
            return f"illegal {name} data at input byte {bad}"

    return decoded


def _go_clean(path: str) -> str:
    """``path.Clean``: like normpath, but a leading ``//`` is one slash too."""
    cleaned = posixpath.normpath(path) if path else "."
    return cleaned[1:] if cleaned.startswith("//") else cleaned


def _go_base(path: str) -> str:
    if not path:
        return "."
    stripped = path.rstrip("/")
    return stripped.rsplit("/", 1)[-1] if stripped else "/"


def _go_ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[name.rfind(".") :] if "." in name else ""


def _dict(*pairs: Any) -> dict[str, Any]:
    keys, values = pairs[0::2], list(pairs[1::2]) + [""]  # an odd last key maps to ""
    return {strval(key): values[index] for index, key in enumerate(keys)}


_MAP = "map[string]interface {}"


def _dig(*arguments: Any) -> Any:
    if len(arguments) < 3:
        raise GoPanic("dig needs at least three arguments")
    *keys, default, mapping = arguments
    for key in keys:
        for found, wanted, go_type in ((key, str, "string"), (mapping, dict, _MAP)):
            if not isinstance(found, wanted):
                raise GoPanic(
                    f"interface conversion: interface {{}} is {type_name(found)}, not {go_type}"
                )
        if key not in mapping:
            return default
        mapping = mapping[key]
    return mapping


def _swallowed(function: Any, fallback: Any) -> Any:
    def call(*arguments: Any) -> Any:
        try:
            return function(*arguments)
        except GoPanic:
            return fallback

    return call


def _sprig(implementation: Any, *parameters: str, variadic: str | None = None) -> Function:
    return Function(implementation, parameters, variadic=variadic, reflected=True)


STR, INT, ANY = "string", "int", "any"
SPRIG: dict[str, Function] = {
    # strings
    "trim": _sprig(str.strip, STR),
    "trimAll": _sprig(lambda cutset, s: s.strip(cutset), STR, STR),
    "trimPrefix": _sprig(lambda prefix, s: s.removeprefix(prefix), STR, STR),
    "trimSuffix": _sprig(lambda suffix, s: s.removesuffix(suffix), STR, STR),
    "upper": _sprig(str.upper, STR),
    "lower": _sprig(str.lower, STR),
    "title": _sprig(lambda s: re.sub(r"(?<!\w)\w", lambda m: m.group(0).upper(), s), STR),
    "substr": _sprig(_substr, INT, INT, STR),
    "trunc": _sprig(_trunc, INT, STR),
    "repeat": _sprig(_repeat, INT, STR),
    "nospace": _sprig(lambda s: "".join(s.split()), STR),
    "replace": _sprig(lambda old, new, s: s.replace(old, new), STR, STR, STR),
    "contains": _sprig(lambda part, s: part in s, STR, STR),
    "hasPrefix": _sprig(lambda prefix, s: s.startswith(prefix), STR, STR),
    "hasSuffix": _sprig(lambda suffix, s: s.endswith(suffix), STR, STR),
    "quote": _sprig(
        lambda *v: " ".join(quote(strval(x)) for x in v if x is not None), variadic=ANY
    ),
    "squote": _sprig(lambda *v: " ".join(f"'{text(x)}'" for x in v if x is not None), variadic=ANY),
    "cat": _sprig(lambda *v: " ".join(text(x) for x in v if x is not None), variadic=ANY),
    "indent": _sprig(lambda n, s: " " * n + s.replace("\n", "\n" + " " * n), INT, STR),
    "nindent": _sprig(lambda n, s: "\n" + " " * n + s.replace("\n", "\n" + " " * n), INT, STR),
    "plural": _sprig(lambda one, many, count: one if count == 1 else many, STR, STR, INT),
    "toString": _sprig(strval, ANY),
    "sha1sum": _sprig(lambda s: hashlib.sha1(s.encode()).hexdigest(), STR),
    "sha256sum": _sprig(lambda s: hashlib.sha256(s.encode()).hexdigest(), STR),
    "sha512sum": _sprig(lambda s: hashlib.sha512(s.encode()).hexdigest(), STR),
    "adler32sum": _sprig(lambda s: str(zlib.adler32(s.encode())), STR),
    "b64enc": _sprig(lambda s: base64.b64encode(s.encode()).decode(), STR),
    "b64dec": _sprig(_decoder("base64", _B64, lambda s: base64.b64decode(s, validate=True)), STR),
    "b32enc": _sprig(lambda s: base64.b32encode(s.encode()).decode(), STR),
    "b32dec": _sprig(_decoder("base32", _B32, base64.b32decode), STR),
    # regular expressions (Go's RE2 syntax; a bad pattern panics but in regexMatch)
    "regexMatch": _sprig(_regex_match, STR, STR),
    "regexFind": _sprig(
        lambda r, s: next((m.group(0) for m in _matches(regex(r), s)), ""), STR, STR
    ),
    "regexFindAll": _sprig(
        lambda r, s, n: [m.group(0) for m in _matches(regex(r), s, n)], STR, STR, INT
    ),
    "regexReplaceAll": _sprig(
        lambda r, s, repl: _replace_all(r, s, lambda m: expand_template(repl, m)), STR, STR, STR
    ),
    "regexReplaceAllLiteral": _sprig(
        lambda r, s, repl: _replace_all(r, s, lambda m: repl), STR, STR, STR
    ),
    "regexSplit": _sprig(_regex_split, STR, STR, INT),
    "regexQuoteMeta": _sprig(lambda s: re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", s), STR),
    # numbers, converted as spf13/cast does
    "atoi": _sprig(lambda s: parse_int(s) or 0, STR),
    "int": _sprig(to_int, ANY),
    "int64": _sprig(to_int, ANY),
    "float64": _sprig(to_float, ANY),
    "add": _sprig(lambda *v: sum(map(to_int, v)), variadic=ANY),
    "add1": _sprig(lambda v: to_int(v) + 1, ANY),
    "sub": _sprig(lambda a, b: to_int(a) - to_int(b), ANY, ANY),
    "mul": _sprig(lambda a, *v: math.prod(map(to_int, (a, *v))), ANY, variadic=ANY),
    "div": _sprig(lambda a, b: _int_division(a, b, remainder=False), ANY, ANY),
    "mod": _sprig(lambda a, b: _int_division(a, b, remainder=True), ANY, ANY),
    "max": _sprig(lambda a, *v: max(map(to_int, (a, *v))), ANY, variadic=ANY),
    "biggest": _sprig(lambda a, *v: max(map(to_int, (a, *v))), ANY, variadic=ANY),
    "min": _sprig(lambda a, *v: min(map(to_int, (a, *v))), ANY, variadic=ANY),
    "maxf": _sprig(lambda a, *v: max(map(to_float, (a, *v))), ANY, variadic=ANY),
    "minf": _sprig(lambda a, *v: min(map(to_float, (a, *v))), ANY, variadic=ANY),
    "floor": _sprig(lambda v: float(math.floor(to_float(v))), ANY),
    "ceil": _sprig(lambda v: float(math.ceil(to_float(v))), ANY),
    "round": _sprig(_round, ANY, INT, variadic="float64"),
    "until": _sprig(lambda n: _until_step(0, n, 1 if n >= 0 else -1), INT),
    "untilStep": _sprig(_until_step, INT, INT, INT),
    "seq": _sprig(_seq, variadic=INT),
    # lists
    "list": _sprig(lambda *v: list(v), variadic=ANY),
    "first": _sprig(_listed("find first on", lambda v: v[0] if v else None), ANY),
    "last": _sprig(_listed("find last on", lambda v: v[-1] if v else None), ANY),
    "rest": _sprig(_listed("find rest on", lambda v: v[1:] if v else None), ANY),  # nil if empty
    "initial": _sprig(_listed("find initial on", lambda v: v[:-1] if v else None), ANY),
    "append": _sprig(_listed("push on", lambda v, item: [*v, item]), ANY, ANY),
    "prepend": _sprig(_listed("prepend on", lambda v, item: [item, *v]), ANY, ANY),
    "reverse": _sprig(_listed("find reverse on", lambda v: v[::-1]), ANY),
    "uniq": _sprig(_listed("find uniq on", _uniq), ANY),
    "without": _sprig(
        _listed("find without on", lambda v, *omit: [x for x in v if not _member(x, omit)]),
        ANY,
        variadic=ANY,
    ),
    "has": _sprig(lambda x, v: v is not None and _member(x, _list(v, "find has on")), ANY, ANY),
    "compact": _sprig(_listed("compact on", lambda v: [x for x in v if not empty(x)]), ANY),
    "concat": _sprig(
        lambda *lists: [x for v in lists for x in _list(v, "concat", after=" as list")],
        variadic=ANY,
    ),
    "join": _sprig(lambda sep, v: sep.join(_strings(v)), STR, ANY),
    "splitList": _sprig(lambda sep, s: s.split(sep) if sep else list(s), STR, STR),
    "split": _sprig(
        lambda sep, s: {f"_{i}": p for i, p in enumerate(s.split(sep) if sep else list(s))},
        STR,
        STR,
    ),
    "sortAlpha": _sprig(lambda v: sorted(_strings(v)) if isinstance(v, list) else [strval(v)], ANY),
    "toStrings": _sprig(_strings, ANY),
    # maps
    "dict": _sprig(_dict, variadic=ANY),
    "get": _sprig(lambda d, key: (d or {}).get(key, ""), "map", STR),
    "hasKey": _sprig(lambda d, key: key in (d or {}), "map", STR),
    "keys": _sprig(lambda *ds: [k for d in ds for k in (d or {})], variadic="map"),
    "values": _sprig(lambda d: list((d or {}).values()), "map"),
    "pick": _sprig(lambda d, *ks: {k: d[k] for k in ks if k in (d or {})}, "map", variadic=STR),
    "omit": _sprig(
        lambda d, *ks: {k: v for k, v in (d or {}).items() if k not in ks}, "map", variadic=STR
    ),
    "dig": _sprig(_dig, variadic=ANY),
    # defaults and JSON
    "default": _sprig(
        lambda d, *given: d if not given or empty(given[0]) else given[0], ANY, variadic=ANY
    ),
    "empty": _sprig(empty, ANY),
    "coalesce": _sprig(lambda *v: next((x for x in v if not empty(x)), None), variadic=ANY),
    "ternary": _sprig(lambda yes, no, condition: yes if condition else no, ANY, ANY, "bool"),
    "fromJson": _sprig(_swallowed(from_json, None), STR),
    "toJson": _sprig(_swallowed(to_json, ""), ANY),
    "toPrettyJson": _sprig(_swallowed(lambda v: to_json(v, indent="  "), ""), ANY),
    "toRawJson": _sprig(lambda v: to_json(v, escape_html=False), ANY),
    # paths (Go's path package)
    "base": _sprig(_go_base, STR),
    "dir": _sprig(lambda p: _go_clean(p[: p.rfind("/") + 1]), STR),
    "clean": _sprig(_go_clean, STR),
    "ext": _sprig(_go_ext, STR),
    "isAbs": _sprig(lambda p: p.startswith("/"), STR),
}
