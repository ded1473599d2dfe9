"""``mlflows graph``: a workflow's DAG as Mermaid text or SVG, drawn as Argo's UI draws it."""

from __future__ import annotations

import re
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest
from repo_workflows import REPO

from mlflows.cli import main


def graph(capsys, *argv: str) -> str:
    assert main(["graph", *map(str, argv)]) == 0
    return capsys.readouterr().out


def write(tmp_path, text: str, name: str = "wf.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def edges(mermaid: str) -> list[str]:
    return [line.strip() for line in mermaid.splitlines() if re.search(r" -[-.]", line)]


def boxes(mermaid: str) -> dict[str, str]:
    """Node id -> its declaration (shape and label)."""
    found = {}
    for line in mermaid.splitlines()[1:]:
        match = re.fullmatch(r"    (\w+)([\[\(\{].*)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_the_diamond(capsys):
    text = graph(capsys, REPO / "examples" / "dag_diamond.yaml")
    assert text.splitlines()[0] == "flowchart LR"
    assert boxes(text) == {name: f'["{name}<br/>echo"]' for name in "abcd"}
    assert edges(text) == ["a --> b", "a --> c", "b --> d", "c --> d"]


def test_the_readme_shows_what_the_command_prints(capsys):
    readme = (REPO / "README.md").read_text()
    shown = re.search(
        r"mlflows graph examples/dag_diamond.yaml\n.*?```mermaid\n(.*?)```", readme, re.S
    ).group(1)
    assert shown == graph(capsys, REPO / "examples" / "dag_diamond.yaml")


def test_a_flow_script_is_run_for_its_workflow(capsys):
    """A flow prints its workflow; the graph of the script is the graph of its YAML."""
    from_script = graph(capsys, REPO / "examples" / "dag_diamond.py")
    assert from_script == graph(capsys, REPO / "examples" / "dag_diamond.yaml")


def test_the_pipeline_with_its_nested_steps_and_fan_in(capsys):
    """The static fan-out: one box per task of every branch (the loop is one stacked box)."""
    text = graph(capsys, REPO / "flows" / "e2e.static.yaml")
    lines = edges(text)
    assert "ingest --> train_cnn" in lines
    # promote-cnn is a steps template: its box leads to its first step, and select waits for
    # the last steps of every promote, whatever their outcome.
    assert "promote_cnn --> champion" in lines
    assert {line for line in lines if line.endswith(" select")} == {
        f"serve{suffix} -->|any outcome| select" for suffix in ("", "_2", "_3")
    }
    assert "select --> serve_4" in lines and "serve_4 --> predict" in lines
    assert "create TFJob" in boxes(text)["train_cnn"]


LOOPS = """
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata: {generateName: loops-}
    spec:
      entrypoint: main
      templates:
      - name: main
        dag:
          tasks:
          - {name: gen, template: echo}
          - name: items
            template: echo
            withItems: [a, b, {size: 3}]
          - name: param
            template: echo
            depends: gen
            withParam: "{{tasks.gen.outputs.result}}"
          - name: sequence
            template: echo
            depends: items && param
            withSequence: {count: "5"}
      - name: echo
        container: {image: alpine, command: [echo, hi]}
"""


def test_a_loop_is_one_stacked_box_marked_with_what_it_loops_over(tmp_path, capsys):
    text = graph(capsys, write(tmp_path, LOOPS))
    assert boxes(text) == {
        "gen": '["gen<br/>echo"]',
        "items": '[["items<br/>echo<br/>withItems: a, b, #123;#quot;size#quot;: 3#125;"]]',
        "param": '[["param<br/>echo<br/>withParam: #123;#123;tasks.gen.outputs.result#125;#125;"]]',
        "sequence": '[["sequence<br/>echo<br/>withSequence: count 5"]]',
    }
    assert edges(text) == ["gen --> param", "items --> sequence", "param --> sequence"]
    assert "class items,param,sequence loop" in text


HOOKS = """
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata: {generateName: hooks-}
    spec:
      entrypoint: main
      onExit: cleanup
      hooks:
        running:
          expression: workflow.status == "Running"
          template: echo
      templates:
      - name: main
        dag:
          tasks:
          - name: a
            template: echo
            hooks:
              exit: {template: echo}
              started: {expression: tasks.a.status == "Running", template: notify}
          - {name: b, template: echo, depends: a.Failed, onExit: notify}
          - {name: c, template: echo, depends: a}
      - name: echo
        container: {image: alpine, command: [echo, hi]}
      - name: notify
        container: {image: alpine, command: [echo, note]}
      - name: cleanup
        dag:
          tasks:
          - {name: tidy, template: echo}
          - {name: report, template: notify, depends: tidy}
"""


def test_hooks_and_the_exit_handler_are_boxes_of_their_own(tmp_path, capsys):
    text = graph(capsys, write(tmp_path, HOOKS))
    declared = boxes(text)
    assert declared["onExit"] == '(["onExit<br/>cleanup"])'  # the exit handler: a stadium
    assert declared["a_onExit"] == '{{"a.onExit<br/>echo"}}'  # a task's hooks: hexagons
    assert declared["a_hooks_started"] == (
        '{{"a.hooks.started<br/>notify<br/>when tasks.a.status == #quot;Running#quot;"}}'
    )
    assert declared["b_onExit"] == '{{"b.onExit<br/>notify"}}'
    assert declared["hooks_running"] == (
        '{{"hooks.running<br/>echo<br/>when workflow.status == #quot;Running#quot;"}}'
    )
    assert sorted(edges(text)) == sorted(
        [
            "a -.->|exit| a_onExit",
            "a -.-> a_hooks_started",
            "b -.->|exit| b_onExit",
            "a -->|Failed| b",
            "a --> c",
            "b -.-> onExit",  # after the workflow's last boxes, dashed
            "c -.-> onExit",
            "onExit --> tidy",  # the exit handler's own DAG follows it
            "tidy --> report",
        ]
    )


STEPS = """
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata: {generateName: steps-}
    spec:
      entrypoint: main
      templates:
      - name: main
        steps:
        - - {name: prepare, template: echo}
        - - {name: left, template: echo}
          - {name: right, template: echo}
        - - {name: up, template: echo}
          - {name: down, template: flip}
        - - {name: last, template: echo}
      - name: echo
        container: {image: alpine, command: [echo, hi]}
      - name: flip
        steps:
        - - {name: toss, template: echo}
        - - {name: again, template: flip, when: "{{steps.toss.outputs.result}} == heads"}
"""


def test_steps_follow_group_by_group_and_a_recursion_stops(tmp_path, capsys):
    text = graph(capsys, write(tmp_path, STEPS))
    assert sorted(edges(text)) == sorted(
        [
            "prepare --> left",
            "prepare --> right",
            "toss --> again",
            "down --> toss",
            "left --> n_2",  # two groups of two: through a dot, as Argo's StepGroup node
            "right --> n_2",
            "n_2 --> up",
            "n_2 --> down",
            "up --> last",
            "again --> last",
        ]
    )
    assert boxes(text)["n_2"] == '((" "))'
    # flip calls itself: drawn once, the recursive call marked and not expanded
    assert boxes(text)["again"] == (
        '["again<br/>flip<br/>when #123;#123;steps.toss.outputs.result#125;#125; == heads'
        '<br/>recursive"]'
    )


def test_coin_flip(capsys):
    text = graph(capsys, REPO / "examples" / "coin_flip.yaml")
    assert edges(text) == ["flip --> heads", "flip --> tails"]


def test_a_workflow_of_one_container_is_one_box(capsys):
    text = graph(capsys, REPO / "examples" / "hello_world.yaml")
    assert text == 'flowchart LR\n    hello["hello"]\n'


def svg_root(text: str) -> ET.Element:
    return ET.fromstring(text)


SVG = "{http://www.w3.org/2000/svg}"


def test_svg_is_self_contained_deterministic_and_without_overlaps(tmp_path, capsys):
    out = tmp_path / "e2e.svg"
    assert main(["graph", str(REPO / "flows" / "e2e.yaml"), "--format", "svg", "-o", str(out)]) == 0
    text = out.read_text()
    assert graph(capsys, REPO / "flows" / "e2e.yaml", "--format", "svg") == text
    root = svg_root(text)
    assert re.findall(r"https?://[^\"]+", text) == ["http://www.w3.org/2000/svg"]
    assert "<script" not in text and "<image" not in text
    width, height = float(root.get("width")), float(root.get("height"))
    rects = []
    for node in root.iter(f"{SVG}g"):
        if "node" in (node.get("class") or "").split():
            rect = node.find(f"{SVG}rect")
            x, y = float(rect.get("x")), float(rect.get("y"))
            w, h = float(rect.get("width")), float(rect.get("height"))
            assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
            rects.append((x, y, w, h, node.find(f"{SVG}title").text.split("\n")[0]))
    assert len(rects) == len(boxes(graph(capsys, REPO / "flows" / "e2e.yaml")))
    for i, (x, y, w, h, name) in enumerate(rects):
        for x2, y2, w2, h2, other in rects[i + 1 :]:
            apart = x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
            assert apart, f"{name} overlaps {other}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("spec: [unclosed", "wf.yaml: not valid YAML at line 1"),
        ("kind: ConfigMap\n", "wf.yaml: no Workflow, WorkflowTemplate"),
        (
            "kind: Workflow\nspec: {entrypoint: main, templates: [{name: main, dag: {tasks: "
            "[{name: a, template: x, depends: b}, {name: b, template: nope}]}}, "
            "{name: x, container: {image: a}}]}\n",
            "template main: task b: no template named 'nope' in this workflow",
        ),
        (
            "kind: Workflow\nspec: {entrypoint: main, templates: [{name: main, dag: {tasks: "
            "[{name: a, template: x, depends: z}]}}, {name: x, container: {image: a}}]}\n",
            "template main: task a: depends on 'z', which is no task of this DAG",
        ),
        ("kind: Workflow\nspec: {templates: [{name: x}]}\n", "spec.entrypoint: the workflow"),
    ],
)
def test_a_mistake_is_one_error_line(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    assert main(["graph", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: ") and expected in line


def test_a_failing_flow_script_is_one_error_line(tmp_path, capsys):
    script = write(tmp_path, "import sys\nsys.exit('no such dataset')\n", "flow.py")
    assert main(["graph", str(script)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"error: {script}: running it failed with exit code 1: no such dataset"


def test_standard_input(monkeypatch, capsys):
    text = (REPO / "examples" / "coin_flip.yaml").read_text()
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(text))
    assert edges(graph(capsys, "-")) == ["flip --> heads", "flip --> tails"]
