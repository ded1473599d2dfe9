"""Go's ``fmt.Sprintf(format, n)`` for one integer, as ``withSequence.format`` is applied.

The integer verbs ``%d %v %b %o %O %x %X %c %U`` with the flags ``-+ 0#``, a width and a
precision; ``%%`` is a percent sign. As in Go, a verb that does not take an integer is written as
``%!s(int=5)``, a second verb as ``%!d(MISSING)``, and a format without a verb gets
``%!(EXTRA int=5)`` appended. ``%q`` (a quoted character) is refused with ValueError.
"""

from __future__ import annotations

import re

_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(.?)", re.DOTALL)
_BASES = {"d": 10, "v": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}
_DIGITS = "0123456789abcdef"


def sprintf(format_: str, number: int) -> str:
    out: list[str] = []
    used = False
    position = 0
    for match in _VERB.finditer(format_):
        out.append(format_[position : match.start()])
        position = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
        elif not verb:
            out.append("%!(NOVERB)")
        elif used:
            out.append(f"%!{verb}(MISSING)")
        else:
            used = True
            out.append(_one(flags, width, precision, verb, number))
    out.append(format_[position:])
    if not used:
        out.append(f"%!(EXTRA int={number})")
    return "".join(out)


def _one(flags: str, width: str, precision: str | None, verb: str, number: int) -> str:
    if verb == "c":
        return _pad(chr(number) if 0 <= number <= 0x10FFFF else "\ufffd", flags, width)
    if verb == "U":
        return _pad(f"U+{number:04X}" if number >= 0 else f"U+{number:X}", flags, width)
    if verb == "q":
        raise ValueError("format verb %q is not supported by the local runner")
    if verb not in _BASES:
        return f"%!{verb}(int={number})"
    digits = _in_base(abs(number), _BASES[verb])
    if verb == "X":
        digits = digits.upper()
    if precision is not None:
        digits = digits.zfill(int(precision or 0)) if number or precision not in ("", "0") else ""
    prefix = ""
    if "#" in flags:
        prefix = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(verb, "")
        if verb == "o" and digits.startswith("0"):
            prefix = ""
    if verb == "O":
        prefix = "0o"
    sign = "-" if number < 0 else "+" if "+" in flags else " " if " " in flags else ""
    head = sign + prefix
    if "0" in flags and "-" not in flags and precision is None and width:
        return head + digits.zfill(int(width) - len(head))
    return _pad(head + digits, flags, width)


def _in_base(number: int, base: int) -> str:
    digits = ""
    while True:
        number, remainder = divmod(number, base)
        digits = _DIGITS[remainder] + digits
        if not number:
            return digits


def _pad(text: str, flags: str, width: str) -> str:
    size = int(width) if width else 0
    return text.ljust(size) if "-" in flags else text.rjust(size)
