"""report.html, written by every local run: its graph coloured by phase, its timeline, its logs.

A real run (a retried task, a failing branch, a task omitted after it) is opened in a real
headless browser (Debian's chromium, which CI installs): the DOM it built must hold a box per
node in its phase's colour and a bar per node, and the screenshot must show those colours where
the graph and the timeline are.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from mlflows.cli import main
from mlflows.local import run
from mlflows.viz.palette import PHASE_COLOURS, tint
from mlflows.viz.report import LOG_EMBEDDED, REPORT_FILE

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed, so the report is not checked in a browser "
    "(CI installs it: apt-get install chromium)",
)

WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: shapes}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: say}
      - {name: b, template: flaky, depends: a}
      - {name: c, template: broken, depends: a}
      - {name: d, template: say, depends: b && c}
  - name: say
    container: {image: alpine, command: [sh, -c], args: ["echo said by a pod"]}
  - name: flaky
    retryStrategy: {limit: 2}
    container:
      image: alpine
      command: [sh, -c]
      args: ["sleep 0.3; echo attempt {{retries}}; test {{retries}} -ge 1"]
  - name: broken
    container: {image: alpine, command: [sh, -c], args: ["sleep 0.5; echo no luck >&2; exit 3"]}
"""


class Elements(HTMLParser):
    """Every element of a page as a dict of its attributes, ``tag``, ``text`` and ``children``."""

    VOID = {"meta", "br", "img", "input", "link", "hr"}

    def __init__(self, text: str):
        super().__init__()
        self.all: list[dict] = []
        self.open: list[dict] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, **dict(attrs), "text": "", "children": []}
        if self.open:
            self.open[-1]["children"].append(element)
        self.all.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element["text"] += data

    def with_class(self, name: str, tag: str | None = None) -> list[dict]:
        return [
            e
            for e in self.all
            if name in (e.get("class") or "").split() and (tag is None or e["tag"] == tag)
        ]


def child(element: dict, tag: str) -> dict:
    return next(c for c in element["children"] if c["tag"] == tag)


def chromium(page: Path, profile: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", *options, page.as_uri(),
        ],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """The run's result and its page."""
    tmp = tmp_path_factory.mktemp("report")
    result = run(
        yaml.safe_load(WORKFLOW), work_dir=tmp / "work", cache_dir=tmp / "cache", quiet=True
    )
    return result, result.run_dir / REPORT_FILE


def by_name(result) -> dict[str, dict]:
    return {node["displayName"]: node for node in result.status["nodes"].values()}


def test_every_run_writes_its_page_beside_its_status(shapes):
    result, page = shapes
    assert result.phase == "Failed"
    assert page.parent == result.run_dir and (page.parent / "status.json").is_file()
    phases = {name: node["phase"] for name, node in by_name(result).items()}
    assert phases == {
        "shapes": "Failed", "a": "Succeeded", "b": "Succeeded", "b(0)": "Failed",
        "b(1)": "Succeeded", "c": "Failed", "d": "Omitted",
    }  # fmt: skip
    text = page.read_text()
    # self-contained: no script, and no address but the SVG namespace
    assert "<script" not in text.lower()
    assert set(re.findall(r"https?://[^\s\"')]+", text)) == {"http://www.w3.org/2000/svg"}


def test_the_page_links_and_embeds_each_pods_log(shapes):
    result, page = shapes
    elements = Elements(page.read_text())
    nodes = by_name(result)
    logs = {}
    for name in ("a", "b(0)", "b(1)", "c"):
        [row] = [e for e in elements.all if e.get("id") == f"node-{nodes[name]['id']}"]
        assert row["tag"] == "details"  # one click on the row opens the log
        [link] = [e for e in elements.with_class("log", "a") if e in _descendants(row)]
        log_file = (page.parent / link["href"]).resolve()
        assert log_file.read_text() == result.log(name)
        logs[name] = child(row, "pre")["text"]
    assert logs == {
        "a": "said by a pod\n", "b(0)": "attempt 0\n", "b(1)": "attempt 1\n", "c": "no luck\n"
    }  # fmt: skip


def _descendants(element: dict) -> list[dict]:
    found = []
    for inner in element["children"]:
        found += [inner, *_descendants(inner)]
    return found


@needs_chromium
def test_the_browser_builds_a_box_and_a_bar_per_node(shapes, tmp_path):
    result, page = shapes
    done = chromium(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr
    dom = Elements(done.stdout)
    nodes = by_name(result)
    boxes = {}
    for box in dom.with_class("node", "g"):
        title = child(box, "title")["text"].splitlines()[0]
        shape = next(e for e in _descendants(box) if e["tag"] == "rect")
        boxes[title] = (box["data-phase"], shape["fill"])
    assert boxes == {
        name: (node["phase"], tint(PHASE_COLOURS[node["phase"]])) for name, node in nodes.items()
    }
    bars = {}
    for bar in dom.with_class("bar", "span"):
        row = next(e for e in dom.all if bar in _descendants(e) and e.get("id"))
        left, width = re.fullmatch(r"left:([\d.]+)%;width:([\d.]+)%", bar["style"]).groups()
        bars[row["id"]] = (bar["class"].split()[1], float(left), float(width))
    assert {row: phase for row, (phase, _, _) in bars.items()} == {
        f"node-{node['id']}": node["phase"] for node in nodes.values()
    }
    _, root_left, root_width = bars[f"node-{nodes['shapes']['id']}"]
    assert root_left < 1 and root_width > 98  # the workflow's node spans the run
    _, b0_left, b0_width = bars[f"node-{nodes['b(0)']['id']}"]
    _, b1_left, _ = bars[f"node-{nodes['b(1)']['id']}"]
    assert b0_left + b0_width <= b1_left + 0.5  # the second attempt after the first


def pixels_near(image, colour: str, tolerance: int = 1) -> list[tuple[int, int]]:
    """Where ``image`` has ``colour`` (give or take ``tolerance`` in each channel)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    data, width = image.convert("RGB").tobytes(), image.width
    return [
        (k // 3 % width, k // 3 // width)
        for k in range(0, len(data), 3)
        if abs(data[k] - red) <= tolerance
        and abs(data[k + 1] - green) <= tolerance
        and abs(data[k + 2] - blue) <= tolerance
    ]


@needs_chromium
def test_the_screenshot_shows_the_graph_and_the_timeline_in_colour(shapes, tmp_path):
    from PIL import Image

    _, page = shapes
    png = tmp_path / "report.png"
    done = chromium(page, tmp_path / "profile", f"--screenshot={png}", "--window-size=1200,900")
    assert done.returncode == 0, done.stderr
    image = Image.open(png).convert("RGB")
    assert image.size == (1200, 900)
    # The graph: boxes filled with each phase's tint, a box being thousands of pixels.
    fills = {phase: pixels_near(image, tint(PHASE_COLOURS[phase])) for phase in PHASE_COLOURS}
    # (counting rows with many such pixels: a bar's rounded end blends into a few of them)
    graph_bottom = max(
        y
        for phase in ("Succeeded", "Failed")
        for y, count in Counter(y for _, y in fills[phase]).items()
        if count >= 20
    )
    for phase in ("Succeeded", "Failed", "Omitted"):
        in_graph = [(x, y) for x, y in fills[phase] if y <= graph_bottom]
        assert len(in_graph) > 1500, f"no {phase} box in the graph"
    # The timeline, below the graph: bars in the phases' full colours.
    for phase in ("Succeeded", "Failed"):
        below = [(x, y) for x, y in pixels_near(image, PHASE_COLOURS[phase]) if y > graph_bottom]
        assert len(below) > 1500, f"no {phase} bars under the graph"
        rows = {y for _, y in below}
        assert max(rows) < 900 and len(rows) >= 2 * 12  # two bars or more, 14 px high each


def test_a_memo_hit_is_marked_in_the_timeline(tmp_path):
    memoized = yaml.safe_load(
        textwrap.dedent(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: memo-}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: fetch, template: fetch}
              - name: fetch
                memoize:
                  key: fixed
                  cache: {configMap: {name: report-memo}}
                container: {image: alpine, command: [echo, fetched]}
            """
        )
    )
    for _ in range(2):
        result = run(memoized, work_dir=tmp_path / "w", cache_dir=tmp_path / "c", quiet=True)
    page = Elements((result.run_dir / REPORT_FILE).read_text())
    fetch = by_name(result)["fetch"]
    assert fetch["memoizationStatus"]["hit"] is True
    [row] = [e for e in page.all if e.get("id") == f"node-{fetch['id']}"]
    assert "memo hit" in row["text"]
    assert [bar["class"] for bar in page.with_class("bar") if bar in _descendants(row)] == [
        "bar Succeeded memo"
    ]
    [box] = [
        b for b in page.with_class("node", "g") if child(b, "title")["text"].startswith("fetch")
    ]
    assert "memo hit" in child(box, "title")["text"]


def test_a_long_loop_is_folded_in_the_graph_but_every_item_has_its_row(tmp_path):
    loop = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "many"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {
                                "name": "each",
                                "template": "say",
                                "withItems": list(range(9)),
                                "arguments": {"parameters": [{"name": "n", "value": "{{item}}"}]},
                            },
                            {"name": "after", "template": "say0", "depends": "each"},
                        ]
                    },
                },
                {
                    "name": "say",
                    "inputs": {"parameters": [{"name": "n"}]},
                    "container": {"image": "a", "command": ["echo", "{{inputs.parameters.n}}"]},
                },
                {"name": "say0", "container": {"image": "a", "command": ["echo", "done"]}},
            ],
        },
    }
    result = run(loop, work_dir=tmp_path / "w", cache_dir=tmp_path / "c", quiet=True)
    page = Elements((result.run_dir / REPORT_FILE).read_text())
    titles = [child(box, "title")["text"].splitlines()[0] for box in page.with_class("node", "g")]
    assert titles == [
        "many", "each", "each(0:0)", "each(1:1)", "each(2:2)", "5 more", "each(8:8)", "after",
    ]  # fmt: skip
    [folded] = page.with_class("collapsed", "g")
    assert "5 Succeeded" in child(folded, "title")["text"]
    rows = [e["id"] for e in page.all if (e.get("id") or "").startswith("node-")]
    assert len(rows) == len(result.status["nodes"]) == 1 + 1 + 9 + 1


TFJOB = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: tfjob}
spec:
  entrypoint: train
  templates:
  - name: train
    resource:
      action: create
      successCondition: status.replicaStatuses.Worker.succeeded = 2
      failureCondition: status.replicaStatuses.Worker.failed > 0
      manifest: |
        apiVersion: kubeflow.org/v1
        kind: TFJob
        metadata: {generateName: train-}
        spec:
          successPolicy: AllWorkers
          tfReplicaSpecs:
            Worker:
              replicas: 2
              restartPolicy: Never
              template:
                spec:
                  containers:
                  - name: tensorflow
                    image: trainer
                    command: [python, -c, "import os; print('worker', os.environ['TF_CONFIG'])"]
"""


def test_the_logs_of_a_tfjobs_replicas_are_linked_from_its_row(tmp_path):
    result = run(
        yaml.safe_load(TFJOB), work_dir=tmp_path / "w", cache_dir=tmp_path / "c", quiet=True
    )
    assert result.phase == "Succeeded", result.message
    page = result.run_dir / REPORT_FILE
    [row] = [e for e in Elements(page.read_text()).all if e.get("id") == "node-tfjob"]
    links = {a["text"]: a["href"] for a in _descendants(row) if a["tag"] == "a"}
    assert links == {
        "log": "logs/tfjob.log",
        "worker-0": "logs/tfjob.worker-0.log",
        "worker-1": "logs/tfjob.worker-1.log",
    }
    for index in (0, 1):
        replica = (page.parent / links[f"worker-{index}"]).read_text()
        assert replica.startswith("worker ") and f'"index": {index}' in replica


def test_a_long_log_is_embedded_by_its_end_only(tmp_path):
    noisy = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "noisy"},
        "spec": {
            "entrypoint": "talk",
            "templates": [
                {
                    "name": "talk",
                    "container": {
                        "image": "a",
                        "command": ["sh", "-c", "seq 1 40000; echo the end"],
                    },
                }
            ],
        },
    }
    result = run(noisy, work_dir=tmp_path / "w", cache_dir=tmp_path / "c", quiet=True)
    log = result.log("noisy")
    assert len(log) > 4 * LOG_EMBEDDED
    page = (result.run_dir / REPORT_FILE).read_text()
    [output] = Elements(page).with_class("output", "pre")
    assert output["text"] == (
        f"… {len(log) - LOG_EMBEDDED} characters before this are in the log file\n"
        + log[-LOG_EMBEDDED:]
    )
    assert len(page) < 2 * LOG_EMBEDDED + 20_000


def test_the_report_command_writes_a_page_for_any_status(shapes, tmp_path, capsys):
    result, _ = shapes
    elsewhere = tmp_path / "pages" / "shapes.html"
    elsewhere.parent.mkdir()
    assert main(["report", str(result.run_dir), "--output", str(elsewhere)]) == 0
    assert capsys.readouterr().out == f"wrote {elsewhere}\n"
    page = Elements(elsewhere.read_text())
    for link in page.with_class("log", "a"):  # the logs, linked from where the page is
        assert (elsewhere.parent / link["href"]).resolve().is_file()
    # the shape 'argo get -o json' prints: the workflow, its status inside
    saved = tmp_path / "wf.json"
    saved.write_text(json.dumps({"metadata": {"name": "renamed"}, "status": result.status}))
    assert main(["report", str(saved)]) == 0
    assert "<title>renamed · Failed</title>" in (tmp_path / REPORT_FILE).read_text()


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "cannot read it: No such file or directory"),
        ("{not json", "not JSON; give a run directory or its status.json"),
        ('{"phase": "Succeeded"}', "no workflow status in it (no 'nodes')"),
    ],
)
def test_the_report_command_refuses_what_is_no_status_in_one_line(
    tmp_path, capsys, content, expected
):
    path = tmp_path / "status.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {path}: {expected}")
    assert not (tmp_path / REPORT_FILE).exists()
