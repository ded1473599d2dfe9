"""expr-lang in a run, where Argo v4.1.2 evaluates it: ``{{=...}}`` tags in arguments, inputs,
containers and ``when``; ``valueFrom.expression`` of a steps or DAG template's outputs; DAG
``depends``. Expected values are what Argo substitutes (util/template/expression_template.go: a
string as it is, anything else as its JSON) or sets as an output (``fmt.Sprintf("%v")``)."""

import pytest
from localrun_helpers import by_display_name, dag, inputs, sh, task, workflow

from mlflows.errors import UserError

CONFIG = '{"models": [{"name": "cnn", "epochs": 3}, {"name": "mlp", "epochs": 1}]}'
SCORES = '[{"name": "a", "score": 0.5}, {"name": "b", "score": 0.9}, {"name": "c", "score": 0.7}]'


def show(name="show"):
    """A template printing its input ``v`` exactly (through the environment, not the shell)."""
    template = sh(name, 'printf %s "$V"', inputs=inputs("v"))
    template["container"]["env"] = [{"name": "V", "value": "{{inputs.parameters.v}}"}]
    return template


def shown(value):
    return {"parameters": [{"name": "v", "value": value}]}


def steps(name, *groups, **template):
    return {"name": name, "steps": [list(group) for group in groups], **template}


def step(name, template, **fields):
    return {"name": name, "template": template, **fields}


def parameters(**values):
    return {"parameters": [{"name": k.replace("_", "-"), "value": v} for k, v in values.items()]}


def results(result) -> dict[str, str]:
    return {
        name: node["outputs"]["result"]
        for name, node in by_display_name(result).items()
        if "result" in (node.get("outputs") or {})
    }


def test_tags_in_task_arguments_evaluate_as_argo_substitutes_them(run_local):
    best = """{{=
      toJson(map(
        filter(fromJSON(tasks['emit-scores'].outputs.result), {#.score > 0.6}),
        {#.name}
      ))
    }}"""
    result = run_local(
        workflow(
            dag(
                "main",
                task("emit-scores", "emit"),
                task("best", "show", depends="emit-scores", arguments=shown(best)),
                task(
                    "size",
                    "show",
                    arguments=shown(
                        "{{=asInt(workflow.parameters.epochs) > 2 ? 'long' : 'short'}}"
                    ),
                ),
                task(
                    "label",
                    "show",
                    arguments=shown(
                        "{{=sprig.replace('_', '-', sprig.upper(workflow.parameters.dataset))}}"
                    ),
                ),
                task(
                    "first",
                    "show",
                    arguments=shown(
                        "{{=jsonpath(workflow.parameters.config, '$.models[0].name')}}"
                    ),
                ),
                task(
                    "count",
                    "show",
                    arguments=shown("{{=len(jsonpath(workflow.parameters.config, '$.models'))}}"),
                ),
                task(
                    "long-ones",
                    "show",
                    arguments=shown(
                        "{{=toJson(filter(fromJSON(workflow.parameters.config).models,"
                        " {#.epochs > 1}))}}"
                    ),
                ),
                task("list", "show", arguments=shown("{{=[1, 2.5, 'x<y']}}")),
                task("numbers", "show", arguments=shown("{{=7 / 2}} {{=4 / 2}} {{=1 == 1}}")),
                task(
                    "joined",
                    "show",
                    arguments=shown(
                        "run-{{=sprig.lower(workflow.parameters.dataset)}}"
                        "-{{workflow.parameters.epochs}}"
                    ),
                ),
            ),
            sh("emit", f"printf '%s' '{SCORES}'"),
            show(),
            arguments=parameters(config=CONFIG, epochs="3", dataset="fashion_mnist"),
        )
    )
    assert result.phase == "Succeeded", result.message
    assert results(result) == {
        "emit-scores": SCORES,
        "best": '["b","c"]',
        "size": "long",
        "label": "FASHION-MNIST",
        "first": "cnn",
        "count": "2",
        "long-ones": '[{"epochs":3,"name":"cnn"}]',
        "list": '[1,2.5,"x\\u003cy"]',
        "numbers": "3.5 2 true",
        "joined": "run-fashion_mnist-3",
    }


def test_input_values_and_container_fields_evaluate_over_the_template_scope(run_local):
    """Argo's expression-destructure-json and expression-reusing-verbose-snippets, in one."""
    template = sh(
        "main",
        'printf "%s/%s/%s" "$A" "$AVG" "{{=sprig.upper(inputs.parameters.a)}}"',
        inputs={
            "parameters": [
                {"name": "a", "value": "{{=jsonpath(workflow.parameters.config, '$.a')}}"},
                {
                    "name": "temps",
                    "value": """{{=
                      map([jsonpath(workflow.parameters.weather, '$.temps')], {
                        toJson({avg: sprig.add(#[0], #[1], #[2]) / 3, max: sprig.max(#[0], #[1])})
                      })[0]
                    }}""",
                },
            ]
        },
    )
    template["container"]["env"] = [
        {"name": "A", "value": "{{inputs.parameters.a}}"},
        {"name": "AVG", "value": "{{=jsonpath(inputs.parameters.temps, '$.avg')}}"},
    ]
    result = run_local(
        workflow(
            template,
            arguments=parameters(config='{"a": "x1"}', weather='{"temps": [34, 27, 15]}'),
        )
    )
    assert result.phase == "Succeeded", result.message
    assert list(results(result).values()) == ["x1/25.333333333333332/X1"]


def test_when_in_expr_form_as_argo_conditionals(run_local):
    """Argo's conditionals.yaml: the govaluate and the expr forms of one condition agree."""
    result = run_local(
        workflow(
            steps(
                "main",
                [
                    step("govaluate", "ok", when="{{workflow.parameters.should-print}} == true"),
                    step(
                        "expr",
                        "ok",
                        when="{{= workflow.parameters[\"should-print\"] == 'true'}}",
                    ),
                    step(
                        "expr-json",
                        "ok",
                        when="{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}",
                    ),
                    step(
                        "expr-not", "ok", when="{{=workflow.parameters['should-print'] != 'true'}}"
                    ),
                ],
            ),
            sh("ok", "true"),
            arguments=parameters(should_print="true"),
        )
    )
    nodes = by_display_name(result)
    assert {
        name: nodes[name]["phase"] for name in ("govaluate", "expr", "expr-json", "expr-not")
    } == {
        "govaluate": "Succeeded",
        "expr": "Succeeded",
        "expr-json": "Succeeded",
        "expr-not": "Skipped",
    }
    assert nodes["expr-not"]["message"] == "when 'false' evaluated false"


def coin_templates():
    return [
        sh("flip-coin", "printf %s {{workflow.parameters.coin}}"),
        sh("heads", "printf heads"),
        sh("tails", "printf tails"),
    ]


@pytest.mark.parametrize("coin", ["heads", "tails"])
def test_conditional_output_parameter_of_steps(run_local, coin):
    """Argo's conditional-parameters.yaml, plus outputs read from inputs and printed as %v."""
    main = steps(
        "main",
        [step("flip-coin", "flip-coin")],
        [
            step("heads", "heads", when="{{steps.flip-coin.outputs.result}} == heads"),
            step("tails", "tails", when="{{steps.flip-coin.outputs.result}} == tails"),
        ],
        inputs=inputs("num"),
        outputs={
            "parameters": [
                {
                    "name": "stepresult",
                    "valueFrom": {
                        "expression": "steps['flip-coin'].outputs.result == 'heads' ? "
                        "steps.heads.outputs.result : steps.tails.outputs.result"
                    },
                },
                {
                    "name": "fib",
                    "valueFrom": {
                        "expression": "asInt(inputs.parameters.num) == 1 ? 1 : "
                        "asInt(inputs.parameters.num) * 1.5"
                    },
                },
                {"name": "names", "valueFrom": {"expression": "map(['a', 'b'], {# + '!'})"}},
                {
                    "name": "other",
                    "valueFrom": {
                        "expression": "steps.heads.outputs.result + steps.tails.outputs.result",
                        "default": "one side was skipped",
                    },
                },
            ]
        },
    )
    result = run_local(
        workflow(
            main,
            *coin_templates(),
            arguments=parameters(coin=coin, num="1" if coin == "heads" else "3"),
        )
    )
    assert result.phase == "Succeeded", result.message
    nodes = by_display_name(result)
    other = "tails" if coin == "heads" else "heads"
    assert nodes[coin]["phase"] == "Succeeded"
    assert nodes[other]["phase"] == "Skipped"
    (entry,) = (node for node in nodes.values() if node["type"] == "Steps")
    assert {p["name"]: p["value"] for p in entry["outputs"]["parameters"]} == {
        "stepresult": coin,
        "fib": "1" if coin == "heads" else "4.5",
        "names": "[a! b!]",
        "other": "one side was skipped",
    }


def test_conditional_output_parameter_of_a_dag(run_local):
    """Argo's dag-conditional-parameters.yaml; the outputs feed a later step."""
    inner = dag(
        "inner",
        task("flip-coin", "flip-coin"),
        task(
            "heads",
            "heads",
            depends="flip-coin",
            when="{{tasks.flip-coin.outputs.result}} == heads",
        ),
        task(
            "tails",
            "tails",
            depends="flip-coin",
            when="{{=tasks['flip-coin'].outputs.result == 'tails'}}",
        ),
        outputs={
            "parameters": [
                {
                    "name": "stepresult",
                    "valueFrom": {
                        "expression": "tasks['flip-coin'].outputs.result == 'heads' ? "
                        "tasks.heads.outputs.result : tasks.tails.outputs.result"
                    },
                }
            ]
        },
    )
    main = steps(
        "main",
        [step("inner", "inner")],
        [step("use", "show", arguments=shown("got {{steps.inner.outputs.parameters.stepresult}}"))],
    )
    result = run_local(
        workflow(main, inner, *coin_templates(), show(), arguments=parameters(coin="tails"))
    )
    assert result.phase == "Succeeded", result.message
    nodes = by_display_name(result)
    assert nodes["heads"]["phase"] == "Skipped"
    assert nodes["tails"]["phase"] == "Succeeded"
    assert nodes["inner"]["outputs"]["parameters"] == [{"name": "stepresult", "value": "tails"}]
    assert nodes["use"]["outputs"]["result"] == "got tails"


def test_failing_output_expression_without_default_errors_the_template(run_local):
    main = dag(
        "main",
        task("heads", "heads", when="tails == heads"),
        outputs={
            "parameters": [{"name": "r", "valueFrom": {"expression": "tasks.heads.outputs.result"}}]
        },
    )
    result = run_local(workflow(main, *coin_templates(), arguments=parameters(coin="x")))
    (entry,) = (node for node in result.status["nodes"].values() if node["type"] == "DAG")
    assert entry["phase"] == "Error"
    assert "failed to evaluate expression 'tasks.heads.outputs.result'" in entry["message"]
    assert "cannot fetch result from <nil>" in entry["message"]


def test_depends_is_expr_lang_with_dashes_in_task_names(run_local):
    result = run_local(
        workflow(
            dag(
                "main",
                task("train-a", "ok"),
                task("train-b", "ok", when="no == yes"),
                task("both", "ok", depends="train-a.Succeeded && train-b.Skipped"),
                task("never", "ok", depends="train-a.Failed || !(train-b.Skipped)"),
                task("bare", "ok", depends="(train-a && train-b) && !train-a.Omitted"),
            ),
            sh("ok", "true"),
        )
    )
    nodes = by_display_name(result)
    phases = {
        name: nodes[name]["phase"] for name in ("train-a", "train-b", "both", "never", "bare")
    }
    assert phases == {
        "train-a": "Succeeded",
        "train-b": "Skipped",
        "both": "Succeeded",
        "never": "Omitted",
        "bare": "Succeeded",
    }
    assert nodes["never"]["message"] == "omitted: depends condition not met"
    assert result.phase == "Succeeded"


def test_absent_optional_is_nil_so_coalescing_gives_the_fallback(run_local):
    maybe = sh("maybe", "echo 1 > /tmp/x")
    maybe["outputs"] = {"parameters": [{"name": "x", "valueFrom": {"path": "/tmp/x"}}]}
    result = run_local(
        workflow(
            dag(
                "main",
                task("maybe", "maybe", when="no == yes"),
                task(
                    "fallback",
                    "show",
                    depends="maybe",
                    arguments=shown("{{=tasks.maybe.outputs.parameters.x ?? 'fallback'}}"),
                ),
                task(
                    "bare",
                    "show",
                    depends="maybe",
                    arguments=shown("{{=tasks.maybe.outputs.parameters.x}}"),
                ),
            ),
            maybe,
            show(),
        )
    )
    nodes = by_display_name(result)
    assert nodes["fallback"]["outputs"]["result"] == "fallback"
    assert nodes["bare"]["phase"] == "Error"
    assert nodes["bare"]["message"] == (
        "failed to evaluate expression {{=tasks.maybe.outputs.parameters.x}}: "
        "the expression's value is nil"
    )


def test_retries_is_bound_later_and_read_beside_other_variables(run_local):
    flaky = sh(
        "flaky",
        "echo {{=asInt(retries) + asInt(inputs.parameters.base)}}; [ {{retries}} -ge 1 ]",
        inputs=inputs("base"),
        retryStrategy={"limit": 2},
    )
    result = run_local(workflow(flaky, entrypoint="flaky", arguments=parameters(base="10")))
    attempts = sorted(
        (node for node in result.status["nodes"].values() if node["displayName"].endswith(")")),
        key=lambda node: node["displayName"],
    )
    assert [(node["phase"], node["outputs"]["result"]) for node in attempts] == [
        ("Failed", "10"),
        ("Succeeded", "11"),
    ]
    assert result.phase == "Succeeded"


def test_exit_handler_reads_workflow_status_in_an_expression(run_local):
    result = run_local(
        workflow(
            sh("main", "true"),
            sh(
                "report",
                "printf %s '{{=workflow.status == 'Succeeded' ? 'all good' : workflow.status}}'",
            ),
            onExit="report",
        )
    )
    assert result.phase == "Succeeded", result.message
    (exit_node,) = (n for n in by_display_name(result).values() if n["templateName"] == "report")
    assert exit_node["outputs"]["result"] == "all good"


REFUSED = [
    (
        "echo {{=nosuch(inputs.parameters.x)}}",
        "template touch: expression {{=nosuch(inputs.parameters.x)}}: "
        "unknown function nosuch() (1:1)",
    ),
    (
        """{{=
              map([jsonpath(workflow.parameters.weather, '$.temps')], {
                toJson({avg: sprig.genPrivateKey('rsa')})
              })[0]
            }}""",
        "template touch: expression {{=map([jsonpath(workflow.parameters.wea...}}: "
        "sprig.genPrivateKey() is not supported by the local runner (3:36)",
    ),
    (
        "{{=1 +}}",
        "template touch: expression {{=1 +}}: unexpected end of expression (1:4)",
    ),
]


@pytest.mark.parametrize("tag, message", REFUSED)
def test_refused_in_one_line_naming_the_function(run_local, tmp_path, tag, message):
    marker = tmp_path / "ran"
    toucher = sh("touch", f"touch {marker}; echo {tag}")
    with pytest.raises(UserError) as refused:
        run_local(workflow(dag("main", task("t", "touch")), toucher))
    assert str(refused.value) == message
    assert not marker.exists()


def test_output_expression_is_checked_up_front(run_local):
    def outputs(value_from):
        return {"parameters": [{"name": "r", "valueFrom": value_from}]}

    cases = [
        (
            dag("main", task("a", "ok"), outputs=outputs({"expression": "now()"})),
            "template main: outputs.parameters[r].valueFrom.expression 'now()': "
            "now() is not supported by the local runner (1:1)",
        ),
        (
            dag(
                "main",
                task("a", "ok"),
                outputs=outputs({"expression": "1", "parameter": "{{tasks.a.outputs.result}}"}),
            ),
            "template main: outputs.parameters[r]: give one of valueFrom.expression and "
            "valueFrom.parameter",
        ),
    ]
    for template, message in cases:
        with pytest.raises(UserError) as refused:
            run_local(workflow(template, sh("ok", "true")))
        assert str(refused.value) == message


def test_depends_syntax_is_checked_up_front(run_local):
    template = dag("main", task("a-1", "ok"), task("b", "ok", depends="a-1.Succeeded &&"))
    with pytest.raises(UserError) as refused:
        run_local(workflow(template, sh("ok", "true")))
    assert str(refused.value) == (
        "template main: task b: depends: unexpected end of expression (1:17)"
    )
