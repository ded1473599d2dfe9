"""The `when` language (govaluate), as Argo evaluates it."""

import pytest

from mlflows.local.lang.expressions import ExpressionError, evaluate_when


@pytest.mark.parametrize(
    "text, expected",
    [
        ("heads == heads", True),
        ("heads == tails", False),
        ("heads != tails", True),
        ("'a b' == 'a b'", True),
        ('"x" == x', True),
        ("0.91 > -1", True),
        ("10 > 9", True),  # numerically, not as strings
        ("2 >= 2.0", True),
        ("-1 < -0.5", True),
        ("abc < abd", True),
        ("5 == 5.0", True),
        ("5 == five", False),  # number and string are never equal
        ("true", True),
        ("!false && (1 < 2 || a == b)", True),
        ("hello =~ 'h.l+o'", True),
        ("hello !~ '^e'", True),
        ("", True),
    ],
)
def test_when(text, expected):
    assert evaluate_when(text) is expected


@pytest.mark.parametrize(
    "text",
    ["1 > abc", "heads", "a-b == a-b", "(1 < 2", "1 < 2)", "true && 1", "x == 'unclosed"],
)
def test_when_rejects(text):
    with pytest.raises(ExpressionError, match="invalid expression|not a boolean"):
        evaluate_when(text)
