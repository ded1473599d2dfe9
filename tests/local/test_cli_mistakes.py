"""Every user mistake in `mlflows run` and `mlflows cache` is one ``error:`` line and exit code 2,
found before anything runs; a corrupt memo entry is a miss, not a mistake."""

import json

import pytest
import yaml
from localrun_helpers import dag, sh, task, workflow

from mlflows.cli import main
from mlflows.local.controller.memo import MemoCache
from mlflows.local.controller.nodes import Outputs


def memoized(script, key="k"):
    return sh(
        "main",
        script,
        memoize={"key": key, "maxAge": "1h", "cache": {"configMap": {"name": "memo"}}},
    )


@pytest.fixture
def at(tmp_path, monkeypatch):
    """Run the command in tmp_path; give back its exit code and its stderr lines."""
    monkeypatch.chdir(tmp_path)

    def command(capsys, *argv):
        code = main([str(arg) for arg in argv])
        return code, capsys.readouterr().err.splitlines()

    return command


def write(tmp_path, wf, name="wf.yaml"):
    (tmp_path / name).write_text(yaml.safe_dump(wf))
    return name


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run"], "error: mlflows run: the following arguments are required: file (see "),
        (["run", "wf.yaml", "--bogus"], "error: mlflows: unrecognized arguments: --bogus"),
        (["cache"], "error: mlflows cache: the following arguments are required: ACTION"),
        (["cache", "clear", "--cache"], "error: mlflows cache clear: argument --cache: expected"),
    ],
)
def test_argument_mistakes_are_one_line_too(tmp_path, at, capsys, argv, expected):
    write(tmp_path, workflow(sh("main", "true")))
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(expected)


def test_a_work_dir_that_is_a_file(tmp_path, at, capsys):
    (tmp_path / "notes").write_text("keep")
    code, err = at(
        capsys, "run", write(tmp_path, workflow(sh("main", "true"))), "--work-dir", "notes"
    )
    assert code == 2
    assert err == [
        f"error: --work-dir {tmp_path / 'notes'} is a file; give a directory (made if missing)"
    ]
    assert (tmp_path / "notes").read_text() == "keep"


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--report-json", ".", "error: --report-json . is a directory; give a file name"),
        ("--report-json", "notes/r.json", "error: --report-json notes/r.json: "),
        ("--namespace", "ML_Team", "error: --namespace 'ML_Team' is not a valid name: use lower"),
    ],
)
def test_options_that_cannot_work_are_refused_before_the_run(
    tmp_path, at, capsys, option, value, expected
):
    (tmp_path / "notes").write_text("keep")
    marker = tmp_path / "ran"
    path = write(tmp_path, workflow(sh("main", f"touch {marker}")))
    code, err = at(capsys, "run", path, "--work-dir", "w", option, value)
    assert code == 2 and len(err) == 1 and err[0].startswith(expected), err
    assert not marker.exists() and not (tmp_path / "w").exists()


def test_a_cache_dir_that_cannot_be_written_is_refused_before_the_run(tmp_path, at, capsys):
    marker = tmp_path / "ran"
    path = write(tmp_path, workflow(memoized(f"touch {marker}")))
    code, err = at(capsys, "run", path, "--work-dir", "w", "--cache-dir", "/proc/nope")
    assert code == 2
    assert err == [
        "error: --cache-dir /proc/nope: cannot write the memo cache there (No such file or "
        "directory); give a writable directory"
    ]
    assert not marker.exists() and not (tmp_path / "w").exists()


def test_a_cache_dir_is_not_needed_by_a_workflow_that_does_not_memoize(tmp_path, at, capsys):
    path = write(tmp_path, workflow(sh("main", "true")))
    code, _ = at(capsys, "run", path, "--work-dir", "w", "--cache-dir", "/proc/nope")
    assert code == 0


def test_a_generate_name_that_is_not_text(tmp_path, at, capsys):
    wf = workflow(sh("main", "true"))
    wf["metadata"] = {"generateName": 5}
    code, err = at(capsys, "run", write(tmp_path, wf), "--work-dir", "w")
    assert code == 2
    assert err == ["error: metadata.generateName: give a name such as 'train-', not 5"]


def test_clearing_a_cache_that_does_not_exist_says_so(tmp_path, at, capsys):
    MemoCache(tmp_path / "c").save("ingest", "k", "n", Outputs(result="x"))
    code, err = at(capsys, "cache", "clear", "--cache", "ingset", "--cache-dir", "c")
    assert code == 2
    assert err == ["error: --cache 'ingset': no such cache in c/memo (caches: ingest)"]
    assert [entry.key for entry in MemoCache(tmp_path / "c").entries()] == ["k"]
    assert at(capsys, "cache", "clear", "--cache", "ingest", "--cache-dir", "c") == (0, [])


def test_a_corrupt_memo_entry_is_a_miss_warned_once_and_overwritten(tmp_path, at, capsys):
    entry = tmp_path / "c" / "memo" / "memo" / "k.json"
    entry.parent.mkdir(parents=True)
    entry.write_text('{"nodeID": "x", "outputs": {"result": "ha')  # cut short by a crash
    wf = workflow(  # two tasks at once, one key: both miss, one warning
        dag("main", task("a", "work"), task("b", "work")),
        {**memoized("echo fresh"), "name": "work"},
    )
    path = write(tmp_path, wf)
    assert main(["run", path, "--work-dir", "w", "--cache-dir", "c"]) == 0
    out = capsys.readouterr().out
    assert len([line for line in out.splitlines() if line.startswith("warning:")]) == 1
    assert "warning: memo cache entry c/memo/memo/k.json cannot be read" in " ".join(out.split())
    assert json.loads(entry.read_text())["outputs"]["result"] == "fresh"

    code, _ = at(capsys, "run", path, "--work-dir", "w2", "--cache-dir", "c", "--report-json", "r")
    nodes = json.loads((tmp_path / "r").read_text())["nodes"].values()
    hits = [node["memoizationStatus"]["hit"] for node in nodes if "memoizationStatus" in node]
    assert code == 0 and hits == [True, True]
