"""expr-lang as Argo evaluates it: every expectation is from expr-lang v1.17.8's language definition
(docs/language-definition.md, its examples quoted where there is one), Go's semantics for the
values (fmt, encoding/json, strconv, regexp; their documented examples), sprig's documentation,
or Argo v4.1.2's environment (util/expr/env/env.go) — not from this implementation's output."""

import math

import pytest

from mlflows.local.lang.exprlang import (
    ExprError,
    check,
    evaluate,
    evaluate_bool,
    nest,
    parse,
    tag_text,
)


def same(actual, expected):
    """Equal, and of the same types all the way down (an int is not a float, nor a bool)."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same(actual[k], expected[k]) for k in actual
        )
    return actual == expected


ARRAY = {"array": [1, 2, 3, 4, 5]}
TWEETS = {"tweets": [{"Content": "short", "Size": 5}, {"Content": "a longer tweet", "Size": 14}]}
USERS = {
    "users": [
        {"Name": "Ann", "Age": 30},
        {"Name": "Bob", "Age": 17},
        {"Name": "Cid", "Age": 45},
    ]
}
POSTS = {
    "posts": [
        {"Author": "ann", "Comments": [{"Author": "bob"}, {"Author": "ann"}]},
        {"Author": "bob", "Comments": [{"Author": "ann"}]},
    ]
}
# The variables Argo puts in scope, nested as util/expand does (lastRetry.exitCode is a string).
ARGO = {
    "inputs": {"parameters": {"model-dir": "/mnt/data/m", "epochs": "3", "accuracy": "0.91"}},
    "tasks": {
        "train-a": {"outputs": {"result": "ok", "parameters": {"accuracy": "0.87"}}},
        "select": {"outputs": {"result": '{"best": "a", "scores": [0.8, 0.9]}'}},
    },
    "workflow": {"name": "wf-1", "parameters": {"dataset": "digits"}},
    "lastRetry": {"exitCode": "137", "status": "Failed", "duration": "2.5", "message": "OOM"},
    "retries": 2,
    "item": {"name": "cnn", "epochs": 2},
}
# What a DAG's depends sees: task results, '-' in names turned into '_' by Argo.
DEPENDS = {
    "train_a": {"Succeeded": True, "Failed": False, "Skipped": False},
    "train_b": {"Succeeded": False, "Failed": True, "Skipped": False},
}

CASES = [
    # literals
    ("42", {}, 42),
    ("0x2A", {}, 42),
    ("0o52", {}, 42),
    ("0b101010", {}, 42),
    ("1_000", {}, 1000),
    ("0.5", {}, 0.5),
    (".5", {}, 0.5),
    ("1e3", {}, 1000.0),
    ('"foo"', {}, "foo"),
    ("'bar'", {}, "bar"),
    (r'"Hello\nWorld"', {}, "Hello\nWorld"),
    (r"'it\'s'", {}, "it's"),
    (r'"\u0041\x42\103\t"', {}, "ABC\t"),
    ("`Hello\nWorld`", {}, "Hello\nWorld"),
    (r"`raw \n`", {}, "raw \\n"),
    ("true", {}, True),
    ("false", {}, False),
    ("nil", {}, None),
    ("[1, 'a', nil]", {}, [1, "a", None]),
    ("[1, 2,]", {}, [1, 2]),
    ("{a: 1, 'b c': 2, 3: 'x'}", {}, {"a": 1, "b c": 2, "3": "x"}),
    ("{('a' + 'b'): true}", {}, {"ab": True}),
    ("// a comment\n1 /* and another */ + 1", {}, 2),
    # arithmetic: int/int division gives a float, ** always a float, % keeps the dividend's sign
    ("1 + 2 * 3", {}, 7),
    ("(1 + 2) * 3", {}, 9),
    ("10 - 2 - 3", {}, 5),
    ("7 / 2", {}, 3.5),
    ("4 / 2", {}, 2.0),
    ("1 / 0", {}, math.inf),
    ("7 % 3", {}, 1),
    ("-7 % 3", {}, -1),
    ("2 ** 3", {}, 8.0),
    ("2 ^ 3", {}, 8.0),
    ("2 ** 3 ** 2", {}, 512.0),
    ("-2 ** 2", {}, -4.0),
    ("1 + 2.5", {}, 3.5),
    ("-(1 + 2)", {}, -3),
    ("'a' + \"b\"", {}, "ab"),
    # comparisons, chained as a < b && b < c
    ("1 < 2", {}, True),
    ("2 <= 2.0", {}, True),
    ("'abc' < 'abd'", {}, True),
    ("1 == 1.0", {}, True),
    ("1 == '1'", {}, False),
    ("nil == nil", {}, True),
    ("'a' != 'b'", {}, True),
    ("[1, 2] == [1.0, 2.0]", {}, True),
    ("{a: [1]} == {a: [1]}", {}, True),
    ("1 < 2 < 3", {}, True),
    ("3 < 2 < 4", {}, False),
    ("1 < 5 > 3", {}, True),
    # == is Go's: arrays compare item by item (1 == 1.0), maps by DeepEqual (1 != 1.0)
    ("fromJSON('[1]') == [1]", {}, True),
    ("fromJSON('{\"a\": 1}') == {a: 1}", {}, False),
    # logic, short-circuiting (the unknown name on the right is never looked up)
    ("true and false", {}, False),
    ("true && !false", {}, True),
    ("not false or false", {}, True),
    ("not (1 > 2)", {}, True),
    ("false && missing", {}, False),
    ("true || missing", {}, True),
    # conditionals
    ("1 > 2 ? 'a' : 'b'", {}, "b"),
    ("false ? 1 : false ? 2 : 3", {}, 3),
    ("nil ?? 'd'", {}, "d"),
    ("0 ?? 'd'", {}, 0),
    ("x.missing ?? 'd'", {"x": {}}, "d"),
    ("if 1 > 2 { 'a' } else if 2 > 1 { 'b' } else { 'c' }", {}, "b"),
    # membership
    ('"John" in ["John", "Jane"]', {}, True),
    ('"name" in {"name": "John", "age": 30}', {}, True),
    ("2 in [1.0, 2.0]", {}, True),
    ("'x' not in ['a']", {}, True),
    ("'a' in nil", {}, False),
    ("user.Name", {"user": {"Name": "John"}}, "John"),
    ('user["Name"]', {"user": {"Name": "John"}}, "John"),
    ("array[0]", ARRAY, 1),
    ("array[-1]", ARRAY, 5),
    ("m.missing", {"m": {}}, None),
    ("author.User?.Name", {"author": {"User": None}}, None),
    ("author?.User.Name", {"author": None}, None),
    ('author.User?.Name ?? "Anonymous"', {"author": {"User": None}}, "Anonymous"),
    ("a?.[0]", {"a": None}, None),
    ('$env["var with spaces"]', {"var with spaces": 1}, 1),
    ("'foo' in $env", {"foo": 1}, True),
    # string operators
    ("'abc' contains 'b'", {}, True),
    ("'abc' startsWith 'ab'", {}, True),
    ("'abc' endsWith 'bc'", {}, True),
    ("'abc' not contains 'x'", {}, True),
    ("'abc' matches '^a.c$'", {}, True),
    ("'abc' not matches 'z'", {}, True),
    ("nil matches 'a'", {}, False),
    ("s contains 'a'", {"s": None}, False),
    # ranges, slices, pipes, variables
    ("1..3", {}, [1, 2, 3]),
    ("3..1", {}, []),
    ("array[1:4]", ARRAY, [2, 3, 4]),
    ("array[1:-1]", ARRAY, [2, 3, 4]),
    ("array[:3]", ARRAY, [1, 2, 3]),
    ("array[3:]", ARRAY, [4, 5]),
    ("array[:]", ARRAY, [1, 2, 3, 4, 5]),
    ("array[2:10]", ARRAY, [3, 4, 5]),
    ("'hello'[1:3]", {}, "el"),
    ('user.Name | lower() | split(" ")', {"user": {"Name": "John Smith"}}, ["john", "smith"]),
    ("[1, 2, 3] | filter(# > 1) | map(# * 2)", {}, [4, 6]),
    ("let x = 42; x * 2", {}, 84),
    ("let x = 42;\nlet y = 2;\nx * y", {}, 84),
    (
        'let name = user.Name | lower() | split(" ");\n"Hello, " + name[0] + "!"',
        {"user": {"Name": "John Smith"}},
        "Hello, john!",
    ),
    # predicates
    ("filter(0..9, {# % 2 == 0})", {}, [0, 2, 4, 6, 8]),
    ("filter(tweets, len(.Content) > 10)", TWEETS, [TWEETS["tweets"][1]]),
    ("all(tweets, {.Size < 280})", TWEETS, True),
    ("any(tweets, {.Size > 10})", TWEETS, True),
    ("one(tweets, .Size > 10)", TWEETS, True),
    ("none(tweets, .Size > 280)", TWEETS, True),
    ("map(tweets, {.Size})", TWEETS, [5, 14]),
    ("map(tweets, #.Size + #index)", TWEETS, [5, 15]),
    ("find([1, 2, 3, 4], # > 2)", {}, 3),
    ("find([1, 2], # > 2)", {}, None),
    ("findIndex([1, 2, 3, 4], # > 2)", {}, 2),
    ("findLast([1, 2, 3, 4], # > 2)", {}, 4),
    ("findLastIndex([1, 2, 3, 4], # > 2)", {}, 3),
    ("count(users, .Age > 18)", USERS, 2),
    ("count([true, false, true])", {}, 2),
    ("reduce(1..9, #acc + #)", {}, 45),
    ("reduce(1..9, #acc + #, 0)", {}, 45),
    ("reduce(['a', 'b'], #acc + # + string(#index), '')", {}, "a0b1"),
    ("sum([1, 2, 3])", {}, 6),
    ("sum(users, .Age)", USERS, 92),
    ("map(sortBy(users, .Age), .Name)", USERS, ["Bob", "Ann", "Cid"]),
    ('map(sortBy(users, .Age, "desc"), .Name)', USERS, ["Cid", "Ann", "Bob"]),
    ("groupBy(users, .Age > 18)[false]", USERS, [USERS["users"][1]]),
    ("all([], # > 1)", {}, True),
    ("any([], # > 1)", {}, False),
    ("one([], true)", {}, False),
    (
        "map(filter(posts, {\n    let post = #;\n"
        "    any(.Comments, .Author == post.Author)\n}), .Author)",
        POSTS,
        ["ann"],
    ),
    # builtins, with the language definition's examples
    ('trim("  Hello  ")', {}, "Hello"),
    ('trim("__Hello__", "_")', {}, "Hello"),
    ('trimPrefix("HelloWorld", "Hello")', {}, "World"),
    ('trimSuffix("HelloWorld", "World")', {}, "Hello"),
    ('upper("hello")', {}, "HELLO"),
    ('lower("HELLO")', {}, "hello"),
    ('split("apple,orange,grape", ",")', {}, ["apple", "orange", "grape"]),
    ('split("apple,orange,grape", ",", 2)', {}, ["apple", "orange,grape"]),
    ('split("abc", "")', {}, ["a", "b", "c"]),
    ('splitAfter("apple,orange,grape", ",")', {}, ["apple,", "orange,", "grape"]),
    ('splitAfter("apple,orange,grape", ",", 2)', {}, ["apple,", "orange,grape"]),
    ('replace("Hello World", "World", "Universe")', {}, "Hello Universe"),
    ('repeat("Hi", 3)', {}, "HiHiHi"),
    ('indexOf("apple pie", "pie")', {}, 6),
    ('lastIndexOf("apple pie apple", "apple")', {}, 10),
    ('hasPrefix("HelloWorld", "Hello")', {}, True),
    ('hasSuffix("HelloWorld", "World")', {}, True),
    ("max(5, 7)", {}, 7),
    ("min(5, 7)", {}, 5),
    ("max([1, 2.5], 2)", {}, 2.5),
    ("abs(-5)", {}, 5),
    ("ceil(1.5)", {}, 2.0),
    ("floor(1.5)", {}, 1.0),
    ("round(1.5)", {}, 2.0),
    ("round(-2.5)", {}, -3.0),
    ('join(["apple", "orange", "grape"], ",")', {}, "apple,orange,grape"),
    ('join(["apple", "orange", "grape"])', {}, "appleorangegrape"),
    ("concat([1, 2], [3, 4])", {}, [1, 2, 3, 4]),
    ("flatten([1, 2, [3, 4]])", {}, [1, 2, 3, 4]),
    ("uniq([1, 2, 3, 2, 1])", {}, [1, 2, 3]),
    ("mean([1, 2, 3])", {}, 2.0),
    ("median([1, 2, 3])", {}, 2.0),
    ("median([4, 1, 3, 2])", {}, 2.5),
    ("first([1, 2, 3])", {}, 1),
    ("last([1, 2, 3])", {}, 3),
    ("first([])", {}, None),
    ("take([1, 2, 3, 4], 2)", {}, [1, 2]),
    ("reverse([1, 2, 3])", {}, [3, 2, 1]),
    ("sort([3, 1, 4])", {}, [1, 3, 4]),
    ('sort([3, 1, 4], "desc")', {}, [4, 3, 1]),
    ('keys({"name": "John", "age": 30})', {}, ["name", "age"]),
    ('values({"name": "John", "age": 30})', {}, ["John", 30]),
    ('toPairs({"name": "John", "age": 30})', {}, [["name", "John"], ["age", 30]]),
    ('fromPairs([["name", "John"], ["age", 30]])', {}, {"name": "John", "age": 30}),
    ("type(42)", {}, "int"),
    ('type("hello")', {}, "string"),
    ("type(nil)", {}, "nil"),
    ("type([1]) + type({}) + type(1.5)", {}, "arraymapfloat"),
    ('int("123")', {}, 123),
    ("int(3.9)", {}, 3),
    ('float("123.45")', {}, 123.45),
    ('float("1e3")', {}, 1000.0),
    ("string(123)", {}, "123"),
    ("len([1, 2, 3])", {}, 3),
    ('len({"name": "John", "age": 30})', {}, 2),
    ('len("Hello")', {}, 5),
    ("get([1, 2, 3], 1)", {}, 2),
    ('get({"name": "John", "age": 30}, "name")', {}, "John"),
    ("get([1], 5)", {}, None),
    ('toBase64("Hello World")', {}, "SGVsbG8gV29ybGQ="),
    ('fromBase64("SGVsbG8gV29ybGQ=")', {}, "Hello World"),
    ('fromJSON(\'{"name": "John", "age": 30}\')', {}, {"name": "John", "age": 30.0}),
    ('toJSON({"name": "John", "age": 30})', {}, '{\n  "age": 30,\n  "name": "John"\n}'),
    ("toJSON([])", {}, "[]"),
    # string() is Go's %v: shortest float digits, exponent from 1e6 and below 1e-4
    ("string(0.1 + 0.2)", {}, "0.30000000000000004"),
    ("string(4 / 2)", {}, "2"),
    ("string(123456.0)", {}, "123456"),
    ("string(1000000.0)", {}, "1e+06"),
    ("string(0.0001)", {}, "0.0001"),
    ("string(0.00001)", {}, "1e-05"),
    ("string(nil)", {}, "<nil>"),
    ("string(true)", {}, "true"),
    ("string([1, 'a', nil])", {}, "[1 a <nil>]"),
    ("string({b: 2, a: 1})", {}, "map[a:1 b:2]"),
    # Argo's environment: asInt/asFloat, toJson (compact encoding/json), jsonpath
    ("inputs.parameters['model-dir']", ARGO, "/mnt/data/m"),
    ("asInt(inputs.parameters.epochs) * 2", ARGO, 6),
    ("asFloat(tasks['train-a'].outputs.parameters.accuracy) > 0.85", ARGO, True),
    ("asInt(lastRetry.exitCode) == 137 && lastRetry.status == 'Failed'", ARGO, True),
    ("lastRetry.exitCode == 137", ARGO, False),
    ("retries < 3", ARGO, True),
    ("item.name + '-' + string(item.epochs)", ARGO, "cnn-2"),
    ("workflow.name", ARGO, "wf-1"),
    ("tasks.missing == nil", ARGO, True),
    ("jsonpath(tasks.select.outputs.result, '$.best')", ARGO, "a"),
    ("jsonpath(tasks.select.outputs.result, '$.scores[-1]')", ARGO, 0.9),
    ('jsonpath(\'{"k.x": {"y": true}}\', "$[\'k.x\'].y")', {}, True),
    ("fromJSON(tasks.select.outputs.result).scores | max()", ARGO, 0.9),
    # a predicate's braces are not a map's: a map literal in one is {{...}}
    (
        "toJson(map(1..asInt(inputs.parameters.epochs), {{'epoch': #}}))",
        ARGO,
        '[{"epoch":1},{"epoch":2},{"epoch":3}]',
    ),
    ("toJson({b: [1, 2.5], a: nil})", {}, '{"a":null,"b":[1,2.5]}'),
    ("toJson(4 / 2)", {}, "2"),
    ("toJson(1e20) + ' ' + toJson(1e21)", {}, "100000000000000000000 1e+21"),
    ("toJson(0.000001) + ' ' + toJson(0.0000001)", {}, "0.000001 1e-7"),
    ("toJson('<&>')", {}, '"\\u003c\\u0026\\u003e"'),
    ("sprig.regexReplaceAll('[^a-z0-9-]', lower(workflow.name + '_X'), '-')", ARGO, "wf-1-x"),
    # depends
    ("train_a.Succeeded && train_b.Failed", DEPENDS, True),
    ("(train_a.Succeeded || train_b.Succeeded) and not train_b.Skipped", DEPENDS, True),
    ("train_a.Skipped or !train_b.Failed", DEPENDS, False),
    # sprig (its documentation's examples), value last as in sprig
    ('sprig.trim("   hello    ")', {}, "hello"),
    ('sprig.trimAll("$", "$5.00")', {}, "5.00"),
    ('sprig.trimSuffix("-", "hello-")', {}, "hello"),
    ('sprig.trimPrefix("-", "-hello")', {}, "hello"),
    ('sprig.upper("hello") + sprig.lower("HELLO")', {}, "HELLOhello"),
    ('sprig.title("hello world")', {}, "Hello World"),
    ('sprig.repeat(3, "hello")', {}, "hellohellohello"),
    ('sprig.substr(0, 5, "hello world")', {}, "hello"),
    ('sprig.trunc(5, "hello world")', {}, "hello"),
    ('sprig.trunc(-5, "hello world")', {}, "world"),
    ('sprig.nospace("hello w o r l d")', {}, "helloworld"),
    ('sprig.contains("cat", "catch")', {}, True),
    ('sprig.hasPrefix("cat", "catch") && sprig.hasSuffix("ch", "catch")', {}, True),
    ('sprig.quote("a\\"b")', {}, '"a\\"b"'),
    ("sprig.squote(1)", {}, "'1'"),
    ('sprig.cat("hello", "beautiful", "world")', {}, "hello beautiful world"),
    ('sprig.indent(4, "a\\nb")', {}, "    a\n    b"),
    ('sprig.nindent(2, "a")', {}, "\n  a"),
    ('sprig.replace(" ", "-", "I Am Henry VIII")', {}, "I-Am-Henry-VIII"),
    ('sprig.plural("anchovy", "anchovies", 1)', {}, "anchovy"),
    (
        "sprig.sha256sum('abc')",
        {},
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    ('sprig.b64enc("Hello World")', {}, "SGVsbG8gV29ybGQ="),
    ('sprig.b64dec("SGVsbG8gV29ybGQ=")', {}, "Hello World"),
    ('sprig.b64dec("%%%")', {}, "illegal base64 data at input byte 0"),
    (
        r"sprig.regexMatch('^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[A-Za-z]{2,}$', 'test@acme.com')",
        {},
        True,
    ),
    ("sprig.regexMatch('(', 'x')", {}, False),
    ('sprig.regexFindAll("[2,4,6,8]", "123456789", -1)', {}, ["2", "4", "6", "8"]),
    ('sprig.regexFindAll("a.", "paranormal", 2)', {}, ["ar", "an"]),
    ('sprig.regexFind("[a-zA-Z][1-9]", "abcd1234")', {}, "d1"),
    ('sprig.regexReplaceAll("a(x*)b", "-ab-axxb-", "${1}W")', {}, "-W-xxW-"),
    ('sprig.regexReplaceAll("a(x*)b", "-ab-axxb-", "$1W")', {}, "---"),
    ('sprig.regexReplaceAll("a(x*)b", "-ab-axxb-", "$1")', {}, "--xx-"),
    (
        r'sprig.regexReplaceAll("(?P<first>\\w+) (?P<last>\\w+)", "Jane Doe", "${last} ${first}")',
        {},
        "Doe Jane",
    ),
    ('sprig.regexReplaceAllLiteral("a(x*)b", "-ab-axxb-", "${1}")', {}, "-${1}-${1}-"),
    ('sprig.regexSplit("z+", "pizza", -1)', {}, ["pi", "a"]),
    ('sprig.regexSplit("a*", "abaabaccadaaae", 5)', {}, ["", "b", "b", "c", "cadaaae"]),
    ('sprig.regexQuoteMeta("1.2.3")', {}, "1\\.2\\.3"),
    ('sprig.atoi("42") + sprig.atoi("4x") + sprig.atoi("010")', {}, 52),
    ('sprig.int("3.7")', {}, 3),
    ('sprig.int("0x10") + sprig.int("010")', {}, 24),
    ('sprig.int("abc") + sprig.int(true) + sprig.int(nil)', {}, 1),
    ('sprig.int64("5")', {}, 5),
    ('sprig.float64("1.5") + sprig.float64("x")', {}, 1.5),
    ('sprig.add(1, "2", 3.9)', {}, 6),
    ("sprig.add1(1) + sprig.sub(3, 2)", {}, 3),
    ("[sprig.div(7, 2), sprig.div(-7, 2), sprig.mod(-7, 3)]", {}, [3, -3, -1]),
    ("sprig.mul(2, 3, 4)", {}, 24),
    ('sprig.max(1, "5", 3) + sprig.min(1, 2, 3)', {}, 6),
    ("sprig.maxf(1, 2.5)", {}, 2.5),
    ("[sprig.floor(123.9999), sprig.ceil(123.001)]", {}, [123.0, 124.0]),
    ("sprig.round(123.555555, 3)", {}, 123.556),
    ("sprig.until(5)", {}, [0, 1, 2, 3, 4]),
    ("sprig.untilStep(3, 6, 2)", {}, [3, 5]),
    ("sprig.seq(5)", {}, "1 2 3 4 5"),
    ("sprig.seq(-3)", {}, "1 0 -1 -2 -3"),
    ("sprig.seq(0, 2)", {}, "0 1 2"),
    ("sprig.seq(2, -2)", {}, "2 1 0 -1 -2"),
    ("sprig.seq(0, 2, 10)", {}, "0 2 4 6 8 10"),
    ("sprig.seq(0, -2, -5)", {}, "0 -2 -4"),
    ("sprig.list(1, 2, 3)", {}, [1, 2, 3]),
    ("[sprig.first([1, 2, 3]), sprig.last([1, 2, 3]), sprig.first([])]", {}, [1, 3, None]),
    ("[sprig.rest([1, 2, 3]), sprig.initial([1, 2, 3])]", {}, [[2, 3], [1, 2]]),
    ("sprig.concat(sprig.append([1], 2), sprig.prepend([4], 3))", {}, [1, 2, 3, 4]),
    ("sprig.reverse([1, 2])", {}, [2, 1]),
    ("sprig.uniq([1, 1, 1, 2])", {}, [1, 2]),
    ("sprig.uniq([1, 1.0])", {}, [1, 1.0]),
    ("sprig.without([1, 2, 3, 4], 1, 3)", {}, [2, 4]),
    ("sprig.has(4, [1, 2, 3, 4])", {}, True),
    ('sprig.compact([1, "", nil, "foo"])', {}, [1, "foo"]),
    ('sprig.join(",", ["a", 1, nil])', {}, "a,1"),
    ('sprig.splitList("$", "foo$bar$baz")', {}, ["foo", "bar", "baz"]),
    ('sprig.split("$", "foo$bar$baz")', {}, {"_0": "foo", "_1": "bar", "_2": "baz"}),
    ('sprig.sortAlpha(["b", "a"])', {}, ["a", "b"]),
    ('sprig.dict("name1", "value1", "name2")', {}, {"name1": "value1", "name2": ""}),
    ('[sprig.get({a: 1}, "a"), sprig.get({a: 1}, "b")]', {}, [1, ""]),
    ('sprig.hasKey({a: 1}, "a")', {}, True),
    ('[sprig.pick({a: 1, b: 2}, "a"), sprig.omit({a: 1, b: 2}, "a")]', {}, [{"a": 1}, {"b": 2}]),
    (
        'sprig.dig("user", "role", "humanName", "guest", {user: {role: {humanName: "admin"}}})',
        {},
        "admin",
    ),
    ('sprig.dig("user", "role", "guest", {user: {}})', {}, "guest"),
    (
        '[sprig.default("foo", ""), sprig.default("foo", "bar"), sprig.default("foo", 0)]',
        {},
        ["foo", "bar", "foo"],
    ),
    ('[sprig.empty(0), sprig.empty([]), sprig.empty("x")]', {}, [True, True, False]),
    ("sprig.coalesce(0, 1, 2)", {}, 1),
    ('sprig.ternary("foo", "bar", true)', {}, "foo"),
    ("sprig.toJson({a: 1})", {}, '{"a":1}'),
    ("sprig.fromJson('{\"a\": 1}')", {}, {"a": 1.0}),
    ("sprig.fromJson('bad')", {}, None),
    ("sprig.toPrettyJson([1])", {}, "[\n  1\n]"),
    ("sprig.toRawJson('<')", {}, '"<"'),
    ("sprig.toString(1.5) + sprig.toString(nil)", {}, "1.5<nil>"),
    ('sprig.base("foo/bar/baz") + " " + sprig.dir("foo/bar/baz")', {}, "baz foo/bar"),
    ('sprig.clean("foo/bar/../baz")', {}, "foo/baz"),
    (
        '[sprig.ext("foo.bar"), sprig.ext(".bashrc"), sprig.base(""), sprig.dir("/a")]',
        {},
        [".bar", ".bashrc", ".", "/"],
    ),
    ('sprig.isAbs("/a")', {}, True),
]


@pytest.mark.parametrize("expression, env, expected", CASES)
def test_evaluates(expression, env, expected):
    assert same(evaluate(expression, env), expected)


ERRORS = [
    # (expression, env, the one-line message, ending with where it happened)
    ("missing", {}, "unknown name missing (1:1)"),
    ("1 +\n  missing", {}, "unknown name missing (2:3)"),
    ("'x' + 1", {}, "invalid operation: string + int (1:5)"),
    ("[1] + [2]", {}, "invalid operation: []interface {} + []interface {} (1:5)"),
    ("1 % 2.0", {}, "invalid operation: int % float64 (1:3)"),
    ("1 % 0", {}, "runtime error: integer divide by zero (1:3)"),
    ("1 < 'a'", {}, "invalid operation: int < string (1:3)"),
    ("-'a'", {}, "invalid operation: - string (1:1)"),
    ("[1, 2][5]", {}, "index out of range: 5 (array length is 2) (1:7)"),
    ("[1, 2][-3]", {}, "index out of range: -1 (array length is 2) (1:7)"),
    ("x.a.b", {"x": {}}, "cannot fetch b from <nil> (1:5)"),
    ("x.a", {"x": 1}, "cannot fetch a from int (1:3)"),
    ("'abc'[0]", {}, "indexing a string is not supported locally"),
    ("'a' in 'abc'", {}, 'operator "in" not defined on string (1:5)'),
    ("'a' matches 1", {}, "invalid operation: string matches int"),
    ("not 1", {}, "invalid operation: ! needs a bool, not int (1:1)"),
    # not binds tighter than ==: (not 'a') == 'b'
    ("not 'a' == 'b'", {}, "invalid operation: ! needs a bool, not string (1:1)"),
    ("1 && true", {}, "invalid operation: && needs a bool, not int (1:3)"),
    ("true and 'x'", {}, "invalid operation: and needs a bool, not string (1:6)"),
    ("1 ? 2 : 3", {}, "invalid operation: ?: needs a bool, not int (1:3)"),
    ("{(1): 2}", {}, "a map key must be a string, not int (1:3)"),
    ("int('3.5')", {}, "invalid operation: int(3.5) (1:1)"),
    ("asInt(lastRetry.exitCode + '.0')", ARGO, "invalid operation: int(137.0)"),
    ("asInt(nil)", {}, "invalid operation: int(<nil>)"),
    ("float('x')", {}, "invalid operation: float(x)"),
    ("len(1)", {}, "invalid argument for len (type int) (1:1)"),
    ("upper(1)", {}, "invalid argument for upper (type int)"),
    ("join([1])", {}, "invalid argument for join (type int)"),
    ("max('a', 1)", {}, "invalid argument for max (type string)"),
    ("filter([1, 2], # + 1)", {}, "predicate should return boolean (got int) (1:1)"),
    ("filter(1, true)", {}, "cannot iterate over int in filter()"),
    ("reduce([], #acc + #)", {}, "reduce of empty array with no initial value"),
    ("sort([1, 'a'])", {}, "invalid operation: string < int"),
    ("sort([1], 'up')", {}, "invalid order up, expected asc or desc"),
    ("'a' matches '('", {}, "error parsing regexp"),
    ("fromJSON('{')", {}, "invalid JSON"),
    ("fromBase64('%')", {}, "illegal base64 data"),
    ("toJson(1 / 0)", {}, "json: unsupported value: +Inf"),
    ("jsonpath('{\"a\": 1}', '$.b')", {}, "key: invalid token key 'b' not found"),
    ("jsonpath('[1]', '$[3]')", {}, "index: invalid token out of range"),
    ("jsonpath(p, '$.a')", {"p": "not json"}, "invalid JSON"),
    ("jsonpath('{}', p)", {"p": "$..a"}, "the local runner reads plain paths"),
    ("sprig.trunc(2.0, 'abc')", {}, "reflect: Call using float64 as type int (1:7)"),
    ("sprig.upper(1)", {}, "reflect: Call using int as type string"),
    ("sprig.first('abc')", {}, "Cannot find first on type string"),
    ("sprig.concat([1], 'a')", {}, "Cannot concat type string as list"),
    ("sprig.div(1, 0)", {}, "runtime error: integer divide by zero"),
    ("sprig.regexFind('(', 'x')", {}, "error parsing regexp"),
    ("sprig.substr(2, 1, 'abc')", {}, "slice bounds out of range"),
    ("sprig.append([1, 2], 3) + sprig.prepend([2], 1)", {}, "invalid operation: []interface {}"),
]


@pytest.mark.parametrize("expression, env, message", ERRORS)
def test_runtime_errors(expression, env, message):
    check(expression)  # valid expr: it fails only when run
    with pytest.raises(ExprError) as raised:
        evaluate(expression, env)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


REFUSED = [
    # (expression, why check() refuses it, before anything runs)
    ("now()", "now() is not supported by the local runner (1:1)"),
    ("date('2023-08-14') > x", "date() is not supported by the local runner (1:1)"),
    ("duration('1h')", "duration() is not supported"),
    ("bitand(1, 2)", "bitand() is not supported"),
    ("foo(1)", "unknown function foo() (1:1)"),
    ("__import__('os')", "unknown function __import__() (1:1)"),
    ("sprig.uuidv4()", "sprig.uuidv4() is not supported by the local runner (1:7)"),
    ("sprig.now()", "sprig.now() is not supported by the local runner"),
    ("sprig.date('2006-01-02', x)", "sprig.date() is not supported by the local runner"),
    ("sprig.env('HOME')", "sprig.env() is not supported by the local runner"),
    ("sprig.nosuch(1)", "sprig.nosuch() is not supported by the local runner"),
    ("sprig", "sprig's functions are called as sprig.NAME(...) (1:1)"),
    ("sprig['upper']('a')", "sprig's functions are called as sprig.NAME(...)"),
    ("x | sprig.upper()", "'|' must be followed by a function call such as lower()"),
    ("x | y", "'|' must be followed by a function call"),
    ("user.Name.ToUpper()", "method calls such as .ToUpper() are not supported"),
    ("len(1, 2)", "len(): invalid number of arguments (expected 1, got 2) (1:1)"),
    ("trim()", "trim(): invalid number of arguments (expected 1 to 2, got 0)"),
    ("sprig.replace('a', 'b')", "sprig.replace(): invalid number of arguments (expected 3, got 2)"),
    ("sprig.list()", None),  # variadic: valid
    ("# > 1", "# means the item only inside a predicate"),
    (".x > 1", ". means the item only inside a predicate"),
    ("filter([1])", "filter() expects a list and a predicate"),
    ("filter(x, #foo)", "unknown pointer #foo"),
    ("filter(x, # > 1; true)", "wrap predicate with brackets { and }"),
    ("1 +", "unexpected end of expression (1:4)"),
    ("(1 + 2", "unexpected end of expression"),
    ("1 2", "unexpected token '2' (1:3)"),
    ("a not b", "unexpected token 'b'"),
    ("'abc", "literal not terminated (1:1)"),
    ("/* open", "unclosed comment"),
    ("1 @ 2", "unrecognized character: U+0040 '@' (1:3)"),
    ("12abc", "bad number syntax: '12abc'"),
    ("99999999999999999999", "integer literal is too large"),
    ("'\\q'", "unable to unescape string"),
    ('b"abc"', 'bytes literals (b"...") are not supported locally'),
    ("1 ?? 2 + 3", "Operator (+) and coalesce expressions (??) cannot be mixed."),
    ("{[1]: 2}", "a map key must be a quoted string, a number, a identifier"),
    ("jsonpath(x, '$..a')", "the local runner reads plain paths such as $.a.b"),
    ("jsonpath(x, '$.a[?(@.b)]')", "no wildcards, filters, slices, unions or '..'"),
]


@pytest.mark.parametrize("expression, message", REFUSED)
def test_check_refuses_up_front(expression, message):
    if message is None:
        check(expression)
        return
    with pytest.raises(ExprError) as raised:
        check(expression)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_check_needs_no_environment():
    """Names and types are only known when it runs: check() parses and checks functions."""
    for expression in ("missing.name == 1", "1 / 0", "asInt(lastRetry.exitCode) > 0"):
        check(expression)


def test_a_parsed_expression_evaluates_over_each_environment():
    """A retry's expression is parsed once and evaluated after every attempt."""
    expression = parse("asInt(lastRetry.exitCode) != 0 && retries < 2")
    assert expression.evaluate({"lastRetry": {"exitCode": "1"}, "retries": 0}) is True
    assert expression.evaluate({"lastRetry": {"exitCode": "1"}, "retries": 2}) is False
    assert expression.evaluate({"lastRetry": {"exitCode": "0"}, "retries": 0}) is False


def test_evaluate_bool_requires_a_bool():
    assert evaluate_bool("train_a.Succeeded", DEPENDS) is True
    with pytest.raises(ExprError, match="unable to cast expression result '2' to bool"):
        evaluate_bool("1 + 1", {})
    with pytest.raises(ExprError, match="unable to cast expression result '<nil>' to bool"):
        evaluate_bool("train_a.Unknown", DEPENDS)


def test_tag_text_is_the_value_as_argo_substitutes_it():
    """A string as it is, anything else as its JSON (encoding/json, HTML-safe); nil fails."""
    assert tag_text("a <b>") == "a <b>"
    assert tag_text(4 / 2) == "2"
    assert tag_text(3) == "3"
    assert tag_text(True) == "true"
    assert tag_text([1, "a<"]) == '[1,"a\\u003c"]'
    assert tag_text({"b": 1.5, "a": None}) == '{"a":null,"b":1.5}'
    with pytest.raises(ExprError, match="nil"):
        tag_text(None)


def test_nest_builds_argo_environment_from_flat_names():
    """util/expand: dotted names nest; a name that is the parent of another is dropped."""
    flat = {
        "inputs.parameters": '[{"name": "x", "value": "1"}]',
        "inputs.parameters.x": "1",
        "tasks.train-a.outputs.result": "0.9",
        "workflow.name": "wf",
        "retries": "2",
    }
    env = nest(flat)
    assert env == {
        "inputs": {"parameters": {"x": "1"}},
        "tasks": {"train-a": {"outputs": {"result": "0.9"}}},
        "workflow": {"name": "wf"},
        "retries": "2",
    }
    assert evaluate("asFloat(tasks['train-a'].outputs.result) > 0.5", env) is True
    assert nest({}) == {}
