"""Resource-template conditions: Kubernetes label-selector syntax over gjson paths, as Argo."""

from __future__ import annotations

import pytest

from mlflows.errors import UserError
from mlflows.local.lang.conditions import Conditions, Outcome, gjson_get, parse_selector

STATUS = {
    "metadata": {"name": "train-x", "labels": {"app": "mnist"}},
    "status": {
        "replicaStatuses": {"Worker": {"active": 1, "succeeded": 2}},
        "conditions": [{"type": "Created", "status": "True"}, {"type": "Running"}],
        "modelStatus": {"transitionStatus": "UpToDate"},
        "ready": True,
        "ratio": 0.5,
        "nothing": None,
    },
}


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("a=1", ["a=1"]),
        ("a == 1", ["a==1"]),
        ("a != 1", ["a!=1"]),
        ("a in (y, x)", ["a in (x,y)"]),
        ("a notin (x)", ["a notin (x)"]),
        ("a in ()", ["a in ()"]),
        ("a in (x,,y)", ["a in (,x,y)"]),
        ("a", ["a"]),
        ("!a", ["!a"]),
        ("a > 1", ["a>1"]),
        ("a<10", ["a<10"]),
        ("a =", ["a="]),
        ("x = in", ["x=in"]),
        ("in = x", ["in=x"]),
        ("b = 1, a = 2", ["a=2", "b=1"]),  # sorted by key, as labels.Parse sorts them
        ("example.com/key = v", ["example.com/key=v"]),
        ("", []),
    ],
)
def test_parses_the_label_selector_grammar(text, printed):
    assert [str(requirement) for requirement in parse_selector(text, "successCondition")] == printed


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ("status.replicaStatuses.Worker.succeeded = 2", True),
        ("status.replicaStatuses.Worker.succeeded == 3", False),
        ("status.replicaStatuses.Worker.succeeded != 3", True),
        ("status.replicaStatuses.Worker.failed != 0", True),  # missing: != matches
        ("status.replicaStatuses.Worker.failed = 0", False),  # missing: = does not
        ("status.replicaStatuses.Worker.failed notin (0)", True),
        ("status.replicaStatuses.Worker.failed in (0,1)", False),
        ("status.modelStatus.transitionStatus in (UpToDate,InProgress)", True),
        ("status.modelStatus.transitionStatus notin (UpToDate)", False),
        ("status.replicaStatuses.Worker.succeeded > 1", True),
        ("status.replicaStatuses.Worker.succeeded > 2", False),
        ("status.replicaStatuses.Worker.succeeded < 3", True),
        ("status.replicaStatuses.Worker.failed > 0", False),  # missing: > never matches
        ("status.replicaStatuses.Worker.failed < 1", False),
        ("status.modelStatus.transitionStatus > 0", False),  # not an integer
        ("status.ratio > 0", False),
        ("status.ratio = 0.5", True),
        ("status.ready = true", True),
        ("status.conditions.0.type = Created", True),  # a number indexes an array
        ("status.conditions.1.status", False),
        ("status.conditions.7", False),
        ("status.conditions.type", False),
        ("status.nothing", True),  # null exists, reads as ""
        ("status.nothing = ", True),
        ("status.startTime", False),
        ("!status.completionTime", True),
        ("!status.ready", False),
        ("metadata.labels.app = mnist,status.ready = true", True),  # comma: all of them
        ("metadata.labels.app = mnist,status.ready = false", False),
    ],
)
def test_success_condition_matches_like_kubernetes_labels(condition, matches):
    outcome = Conditions.parse(condition, None).evaluate(STATUS).outcome
    assert outcome is (Outcome.SUCCEEDED if matches else Outcome.WAITING)


def test_failure_condition_fails_on_any_requirement_and_is_checked_first():
    conditions = Conditions.parse(
        "status.ready = true",
        "status.replicaStatuses.Worker.failed > 0,status.replicaStatuses.Worker.active = 1",
    )
    verdict = conditions.evaluate(STATUS)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message == (
        "failure condition 'status.replicaStatuses.Worker.active=1' evaluated true"
    )


def test_only_a_failure_condition_succeeds_at_once_when_it_does_not_match():
    conditions = Conditions.parse(None, "status.replicaStatuses.Worker.failed > 0")
    assert conditions.waits
    assert conditions.evaluate(STATUS).outcome is Outcome.SUCCEEDED
    assert not Conditions.parse(None, "").waits


def test_gjson_reads_values_as_strings():
    assert gjson_get(STATUS, "status.replicaStatuses.Worker.succeeded") == ("2", True)
    assert gjson_get(STATUS, "status.ready") == ("true", True)
    assert gjson_get(STATUS, "status.ratio") == ("0.5", True)
    assert gjson_get({"big": 1e21}, "big") == ("1000000000000000000000", True)
    assert gjson_get(STATUS, "status.modelStatus") == ('{"transitionStatus":"UpToDate"}', True)
    assert gjson_get(STATUS, "status.conditions.0.status") == ("True", True)
    assert gjson_get(STATUS, "status.missing.deeper") == ("", False)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('status.conditions.#(type=="Ready")#.status', "gjson query/modifier syntax"),
        ("status.conditions.@reverse.0", "gjson query/modifier syntax"),
        ("status.*.ready = true", "gjson query/modifier syntax"),
        ("a in (x", "expected: a value, ',' or ')'"),
        ("a in x", "expected: '(' after in/notin"),
        ("a = (x)", "expected: a value"),
        ("a b", "expected: =, ==, !=, in, notin, >, <"),
        ("a > x", "compare with an integer"),
        ("a > -1", "is not a label value"),  # a label value starts with a letter or digit
        ("!a = b", "'!key' takes no operator"),
        ("a = 1,", "a requirement after ','"),
        (", a", "expected: !, a key, or the end"),
        ("a = x y", "expected: ',' or the end"),
        ("-a = 1", "is not a label key"),
        (f"{'a' * 64} = 1", "is not a label key"),  # Kubernetes keys are at most 63 characters
        ("Bad_Prefix/a = 1", "lowercase DNS name"),
        ("a = has space", "expected: ',' or the end"),
        (f"a = {'v' * 64}", "is not a label value"),
    ],
)
def test_malformed_conditions_are_one_clear_line(text, says):
    with pytest.raises(UserError) as raised:
        Conditions.parse(None, text)
    message = str(raised.value)
    assert message.startswith(f"resource.failureCondition {text!r}: ")
    assert says in message
    assert "\n" not in message
