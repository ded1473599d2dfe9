"""The closing summary of ``mlflows run``: aligned columns, no trailing spaces, and what a
workflow of one pod printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from localrun_helpers import dag, sh, task, workflow

REPO = Path(__file__).resolve().parents[2]


def run_command(path: Path, cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "mlflows", "run", str(path), "--cache-dir", str(cwd / "cache")],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stderr == ""
    return done.stdout.splitlines()


def table(lines: list[str]) -> list[str]:
    """The STEP table: from its header to the next blank line."""
    start = next(k for k, line in enumerate(lines) if line.startswith("STEP "))
    end = next((k for k in range(start, len(lines)) if not lines[k]), len(lines))
    return lines[start:end]


def test_a_one_pod_workflow_shows_its_output(tmp_path):
    lines = run_command(REPO / "examples" / "hello_world.yaml", tmp_path)
    assert [line for line in lines if line != line.rstrip()] == []
    [name] = [line.split()[1] for line in lines if line.startswith("Name:")]
    header, row = table(lines)
    assert header == "STEP                 TEMPLATE  DURATION  MESSAGE"
    assert re.fullmatch(rf"✔ {name}  hello     \d+ms", row)
    assert lines[-2:] == ["", f"{name}: hello world"]
    html = next(line for line in lines if line.startswith("HTML:"))
    assert Path(html.split()[1]).name == "report.html" and Path(html.split()[1]).is_file()


def test_columns_are_aligned_without_trailing_spaces(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(
        yaml.safe_dump(
            workflow(
                dag(
                    "main",
                    task("first", "ok"),
                    task("a-much-longer-name", "fails", depends="first"),
                    task("never", "ok", depends="a-much-longer-name"),
                ),
                sh("ok", "echo fine"),
                sh("fails", "echo broken; exit 4"),
            )
        )
    )
    lines = run_command(path, tmp_path)
    assert [line for line in lines if line != line.rstrip()] == []
    header, *rows = table(lines)
    columns = {title: header.index(title) for title in ("TEMPLATE", "DURATION", "MESSAGE")}
    cells = {}
    for row in rows:
        step = row[: columns["TEMPLATE"]].strip()
        assert row[columns["TEMPLATE"] - 2 : columns["TEMPLATE"]] == "  "  # a column apart
        cells[step] = (
            row[columns["TEMPLATE"] : columns["DURATION"]].rstrip(),
            row[columns["DURATION"] : columns["MESSAGE"]].rstrip(),
            row[columns["MESSAGE"] :],
        )
    assert set(cells) == {
        "✖ " + rows[0].split()[1], "✔ first", "✖ a-much-longer-name", "○ never"
    }  # fmt: skip
    assert cells["✔ first"][0] == "ok" and re.fullmatch(r"\d+ms", cells["✔ first"][1])
    assert cells["✖ a-much-longer-name"][2] == "Error (exit code 4)"
    assert cells["○ never"][1:] == ("", "omitted: depends condition not met")
    assert not any(line.startswith(("first:", "main:")) for line in lines)  # several pods


def test_a_memo_hit_says_so_in_the_message_column(tmp_path):
    path = tmp_path / "wf.yaml"
    memoized = sh("fetch", "echo fetched")
    memoized["memoize"] = {"key": "fixed", "cache": {"configMap": {"name": "summary-memo"}}}
    path.write_text(yaml.safe_dump(workflow(dag("main", task("fetch", "fetch")), memoized)))
    run_command(path, tmp_path)
    header, *rows = table(run_command(path, tmp_path))
    [row] = [row for row in rows if "fetch" in row.split()]
    assert row[header.index("MESSAGE") :] == "(memoized)"


class GoneReader:
    """A stdout whose reader has quit: every write is a broken pipe."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self) -> bool:
        return False


@pytest.mark.timeout(120)  # before, the nodes' threads died of it and the run waited forever
def test_a_run_whose_output_is_gone_goes_on_to_its_end(run_local, monkeypatch):
    monkeypatch.setattr(sys, "stdout", GoneReader())
    wf = workflow(dag("main", task("a", "ok"), task("b", "ok", depends="a")), sh("ok", "true"))
    result = run_local(wf, quiet=False)
    assert result.phase == "Succeeded"
    assert (result.run_dir / "status.json").exists()
