"""``mlflows retry``, ``resubmit``, ``list`` and ``get`` over a work directory's runs. Each pod
counts its runs in a claim (the only place a pod writes that outlives it), so what ran again shows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from localrun_helpers import args, by_display_name, dag, inputs, sh, task, workflow

from mlflows import cli, local

VOLUME = {"name": "data", "persistentVolumeClaim": {"claimName": "counters"}}
DATA = {"name": "data", "mountPath": "/mnt/data"}


def counted(name: str, then: str = "true", **template) -> dict:
    """A step that adds a line to /mnt/data/<name> and then runs ``then``."""
    step = sh(name, f"echo x >> /mnt/data/{name}; {then}", **template)
    step["container"]["volumeMounts"] = [DATA]
    return step


def three_steps(**first) -> dict:
    """a ── b ── c, where c fails on its first run and echoes a's output."""
    return workflow(
        dag(
            "main",
            task("a", "a"),
            task("b", "b", depends="a"),
            task(
                "c",
                "c",
                depends="b",
                arguments=args(word="{{tasks.a.outputs.parameters.word}}"),
            ),
        ),
        counted(
            "a",
            "echo from-a > /tmp/word",
            outputs={"parameters": [{"name": "word", "valueFrom": {"path": "/tmp/word"}}]},
            **first,
        ),
        counted("b"),
        counted(
            "c",
            "echo {{inputs.parameters.word}}; [ $(wc -l < /mnt/data/c) -ge 2 ]",
            inputs=inputs("word"),
        ),
        volumes=[VOLUME],
    )


def counts(work_dir) -> dict[str, int]:
    claim = work_dir / "volumes" / "counters"
    return {path.name: len(path.read_text().split()) for path in sorted(claim.iterdir())}


def status(run_dir) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def test_a_retry_reruns_the_failed_step_and_keeps_the_ones_before(tmp_path, capsys):
    work = tmp_path / "w"
    first = local.run(three_steps(), work_dir=work, cache_dir=tmp_path / "c", quiet=True)
    assert first.phase == "Failed"
    before = by_display_name(first)

    code = cli.main(["retry", first.name, "--work-dir", str(work), "--cache-dir", str(tmp_path)])

    assert code == 0
    assert counts(work) == {"a": 1, "b": 1, "c": 2}
    after = status(first.run_dir)
    assert after["phase"] == "Succeeded"
    nodes = {node["displayName"]: node for node in after["nodes"].values()}
    for kept in ("a", "b"):  # the same nodes, not a rerun: their old start and end
        assert nodes[kept]["startedAt"] == before[kept]["startedAt"]
        assert nodes[kept]["finishedAt"] == before[kept]["finishedAt"]
    assert nodes["c"]["startedAt"] > before["c"]["finishedAt"]
    assert nodes["c"]["outputs"]["result"] == "from-a"  # a's kept output reached c
    assert capsys.readouterr().out.count("Succeeded") >= 1


def test_a_retry_can_restart_successful_nodes_a_selector_picks(tmp_path):
    work = tmp_path / "w"
    first = local.run(three_steps(), work_dir=work, cache_dir=tmp_path / "c", quiet=True)
    selector = ["--restart-successful", "--node-field-selector", "displayName=b"]
    assert cli.main(["retry", str(first.run_dir), *selector]) == 0
    assert counts(work) == {"a": 1, "b": 2, "c": 2}  # b and what depends on it ran again


def test_a_run_stopped_with_ctrl_c_is_retried_to_its_end(tmp_path):
    work = tmp_path / "w"
    long = counted("long", "touch /mnt/data/started; [ -f /mnt/data/go ] || sleep 600")
    wf = workflow(
        dag("main", task("a", "a"), task("long", "long", depends="a")),
        counted("a"),
        long,
        volumes=[VOLUME],
    )
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(wf))
    run = subprocess.Popen(
        [sys.executable, "-m", "mlflows", "run", str(path), "--work-dir", str(work)],
        env=os.environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = work / "volumes" / "counters" / "started"
    deadline = time.monotonic() + 60
    while not started.exists():
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=60)
    assert run.returncode == 130
    (run_dir,) = (work / "runs").iterdir()
    assert status(run_dir)["phase"] == "Failed"

    (work / "volumes" / "counters" / "go").touch()
    assert cli.main(["retry", run_dir.name, "--work-dir", str(work)]) == 0

    assert status(run_dir)["phase"] == "Succeeded"
    assert counts(work)["a"] == 1 and counts(work)["long"] == 2


def test_resubmit_starts_anew_and_memoized_keeps_what_succeeded(tmp_path):
    work, cache = tmp_path / "w", tmp_path / "c"
    memo = {"key": "a-once", "cache": {"configMap": {"name": "memo"}}}
    first = local.run(three_steps(memoize=memo), work_dir=work, cache_dir=cache, quiet=True)
    assert first.phase == "Failed"

    options = ["--work-dir", str(work), "--cache-dir", str(cache)]
    assert cli.main(["resubmit", first.name, "--memoized", *options]) == 0
    assert counts(work) == {"a": 1, "b": 1, "c": 2}  # a and b kept from the failed run

    assert cli.main(["resubmit", first.name, *options]) == 0  # everything again, but a's memo
    assert counts(work) == {"a": 1, "b": 2, "c": 3}
    runs = sorted((work / "runs").iterdir(), key=lambda folder: status(folder)["startedAt"])
    assert len(runs) == 3 and runs[0] == first.run_dir
    nodes = {node["displayName"]: node for node in status(runs[2])["nodes"].values()}
    assert nodes["a"]["memoizationStatus"]["hit"] is True


def test_list_and_get_show_the_runs(tmp_path, capsys):
    work = tmp_path / "w"
    first = local.run(three_steps(), work_dir=work, cache_dir=tmp_path / "c", quiet=True)
    assert cli.main(["list", "--work-dir", str(work)]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["NAME", "STATUS", "STARTED", "DURATION", "MESSAGE"]
    assert row.split()[:2] == [first.name, "Failed"]

    assert cli.main(["get", first.name, "--work-dir", str(work)]) == 0
    out = capsys.readouterr().out
    assert f"Name:      {first.name}" in out and "Status:    ✖ Failed" in out
    steps = [line.split()[:2] for line in out.splitlines() if line.startswith("  ")]
    assert steps == [["✔", "a"], ["✔", "b"], ["✖", "c"]]  # the run's tree, under its DAG


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["retry", "nope"], "nope: no such run in"),
        (["retry", "RUN", "--restart-successful"], "--restart-successful: give --node-field"),
        (["retry", "RUN", "--node-field-selector", "displayName=a"], "give --restart-successful"),
        (["resubmit", "RUN", "--memoized"], None),
    ],
)
def test_a_wrong_retry_is_one_error_line(tmp_path, capsys, argv, error):
    work = tmp_path / "w"
    done = local.run(
        workflow(counted("a"), entrypoint="a", volumes=[VOLUME]), work_dir=work, quiet=True
    )
    argv = [done.name if word == "RUN" else word for word in argv]
    assert cli.main([*argv, "--work-dir", str(work)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert (error or "only a Failed or Error run takes a resubmit --memoized") in err
