"""Names become folders only once Kubernetes and Argo would accept them, and a run folder is
claimed, never cleared: the runner deletes nothing it did not make in this run."""

import json
import subprocess
import sys
import threading

import pytest
import yaml
from localrun_helpers import dag, sh, task, workflow

from mlflows.errors import UserError
from mlflows.local import runner
from mlflows.local.spec import workflow as workflow_spec


def named(name, *templates, **spec):
    wf = workflow(*templates, **spec)
    wf["metadata"] = {"name": name}
    return wf


@pytest.fixture
def precious(tmp_path):
    """A folder of someone else's files next to the work dir, that no run may touch."""
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    return folder


def mounted(script, *mounts):
    template = sh("main", script)
    template["container"]["volumeMounts"] = list(mounts)
    return template


def untouched(folder):
    return (folder / "thesis.tex").read_text() == "years of work"


def test_a_workflow_named_like_a_folder_is_refused_before_its_folder_is_touched(
    run_local, tmp_path, precious
):
    with pytest.raises(UserError, match=r"^metadata.name '/.*precious' is not a valid name"):
        run_local(named(str(precious), sh("main", "true")))
    assert untouched(precious)
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize(
    "name",
    ["..", "../../precious", "a/b", ".", "Train", "train_1", "-train", "train-", "x" * 64, "tâche"],
)
def test_workflow_names_are_kubernetes_names(run_local, tmp_path, precious, name):
    """``../../precious`` was ``<work>/runs/../../precious``: the bystander, cleared."""
    with pytest.raises(UserError) as refused:
        run_local(named(name, sh("main", "true")))
    assert str(refused.value).startswith(f"metadata.name {name!r} is not a valid name: use ")
    assert untouched(precious)
    assert not (tmp_path / "work").exists()


def test_a_workflow_named_dot_dot_twice_no_longer_wipes_the_work_dir(run_local, tmp_path):
    """Before, ``..`` made ``runs/..`` the work dir itself: the second run deleted the volumes."""
    wf = named(
        "..",
        mounted("echo model > /data/model", {"name": "d", "mountPath": "/data"}),
        volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
    )
    for _ in range(2):
        with pytest.raises(UserError, match=r"^metadata.name '\.\.' is not a valid name"):
            run_local(wf)
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize(
    "prefix, problem",
    [
        (5, "metadata.generateName: give a name such as 'train-', not 5"),
        ("../", "metadata.generateName '../' is not a valid name prefix"),
        ("Train-", "metadata.generateName 'Train-' is not a valid name prefix"),
        ("/tmp/x-", "metadata.generateName '/tmp/x-' is not a valid name prefix"),
    ],
)
def test_generate_name_is_a_name_prefix(run_local, tmp_path, prefix, problem):
    wf = workflow(sh("main", "true"))
    wf["metadata"] = {"generateName": prefix}
    with pytest.raises(UserError) as refused:
        run_local(wf)
    assert str(refused.value).startswith(problem)
    assert not (tmp_path / "work").exists()


def test_a_long_generate_name_is_cut_as_the_api_server_cuts_it(run_local):
    wf = workflow(sh("main", "true"))
    wf["metadata"] = {"generateName": "a" * 70}
    result = run_local(wf)
    assert result.succeeded
    assert len(result.name) == 63 and result.name.startswith("a" * 58)


def volume_workflow(volume, mount=None):
    mount = {"name": volume["name"], "mountPath": "/data", **(mount or {})}
    return workflow(mounted("echo x > /data/file", mount), volumes=[volume])


@pytest.mark.parametrize(
    "volume, mount, problem",
    [
        (
            {"name": "d", "persistentVolumeClaim": {"claimName": "../../precious"}},
            None,
            "spec: volumes[d].persistentVolumeClaim.claimName '../../precious' is not a valid",
        ),
        (
            {"name": "d", "persistentVolumeClaim": {"claimName": "/tmp"}},
            None,
            "claimName '/tmp' is not a valid name",
        ),
        (
            {"name": "../../../precious", "emptyDir": {}},
            None,
            "spec: volumes[../../../precious].name '../../../precious' is not a valid name",
        ),
        (
            {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
            {"subPath": "../../../precious"},
            "volumeMounts[d].subPath '../../../precious': give a relative path inside the volume",
        ),
        (
            {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
            {"subPath": "/etc"},
            "volumeMounts[d].subPath '/etc': give a relative path",
        ),
    ],
)
def test_volumes_stay_inside_the_work_dir(run_local, tmp_path, precious, volume, mount, problem):
    with pytest.raises(UserError) as refused:
        run_local(volume_workflow(volume, mount))
    assert problem in str(refused.value)
    assert untouched(precious) and sorted(p.name for p in precious.iterdir()) == ["thesis.tex"]
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize(
    "wf, problem",
    [
        (
            workflow(sh("a/b", "true"), entrypoint="a/b"),
            "spec.templates[0].name 'a/b' is invalid: use ASCII letters, digits and '-'",
        ),
        (
            workflow(sh("main", "true"), sh("main", "false")),
            "spec.templates[1].name 'main' is not unique",
        ),
        (
            workflow(dag("main", task("tâche", "ok")), sh("ok", "touch {marker}")),
            "template main: dag.tasks[0].name 'tâche' is invalid: use ASCII letters",
        ),
        (
            workflow(
                dag("main", task("a", "ok"), task("b", "ok"), task("a", "ok")), sh("ok", "true")
            ),
            "template main: dag.tasks[2].name 'a' is not unique",
        ),
        (
            workflow(
                dag("main", task("a", "ok"), task("2nd", "ok", depends="a")), sh("ok", "true")
            ),
            "template main: task 2nd: a task name cannot begin with a digit when it uses depends",
        ),
        (
            workflow(dag("main", task("", "ok")), sh("ok", "true")),
            "template main: dag.tasks[0].name is required",
        ),
        (
            workflow(
                {
                    "name": "main",
                    "steps": [[{"name": "s", "template": "ok"}], [{"name": "s", "template": "ok"}]],
                },
                sh("ok", "touch {marker}"),
            ),
            "template main: steps[1][0].name 's' is not unique",
        ),
        (
            workflow(
                {"name": "main", "steps": [[{"name": "étape", "template": "ok"}]]},
                sh("ok", "touch {marker}"),
            ),
            "template main: steps[0][0].name 'étape' is invalid",
        ),
    ],
)
def test_template_task_and_step_names_follow_argo(run_local, tmp_path, wf, problem):
    marker = tmp_path / "ran"
    text = json.dumps(wf).replace("{marker}", str(marker))
    with pytest.raises(UserError) as refused:
        run_local(json.loads(text))
    assert str(refused.value).startswith(problem)
    assert "\n" not in str(refused.value)
    assert not marker.exists()


def test_a_second_run_of_one_name_is_refused_and_the_first_is_kept(run_local, tmp_path):
    wf = named("nightly", sh("main", "echo first"))
    first = run_local(wf)
    assert first.succeeded
    report = (first.run_dir / "status.json").read_text()

    with pytest.raises(UserError) as refused:
        run_local(wf)
    message = str(refused.value)
    assert message.startswith("workflow 'nightly' already exists: ")
    assert f"rm -r {first.run_dir}" in message and "metadata.generateName" in message
    assert (first.run_dir / "status.json").read_text() == report
    assert first.log("nightly") == "first\n"


def test_a_run_folder_left_by_someone_else_is_never_cleared(run_local, tmp_path):
    stranger = tmp_path / "work" / "runs" / "nightly"
    stranger.mkdir(parents=True)
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="workflow 'nightly' already exists"):
        run_local(named("nightly", sh("main", "true")))
    assert (stranger / "notes.txt").read_text() == "mine"
    assert [p.name for p in stranger.iterdir()] == ["notes.txt"]


def test_claiming_a_run_folder_is_exclusive(tmp_path):
    """Of many starts at the same instant, exactly one gets the folder."""
    wf = named("once", sh("main", "true"))
    barrier = threading.Barrier(8)
    claimed, refused = [], []

    def start():
        barrier.wait()
        try:
            claimed.append(runner._claim_run_dir(tmp_path, wf, "once"))
        except UserError as err:
            refused.append(str(err))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert claimed == [("once", tmp_path / "runs" / "once")]
    assert len(refused) == 7 and all("already exists" in message for message in refused)


def test_a_second_start_while_the_first_runs_is_refused(tmp_path):
    signals = tmp_path / "w" / "volumes" / "signals"  # a pod writes its volumes only
    started, go = signals / "started", signals / "go"
    waiting = sh("main", "touch /s/started; while [ ! -e /s/go ]; do sleep 0.05; done; echo done")
    waiting["container"]["volumeMounts"] = [{"name": "s", "mountPath": "/s"}]
    wf = named("long", waiting)
    wf["spec"]["volumes"] = [{"name": "s", "persistentVolumeClaim": {"claimName": "signals"}}]
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(wf))
    command = [sys.executable, "-m", "mlflows", "run", str(path), "--work-dir", str(tmp_path / "w")]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not started.exists() and first.poll() is None:
            threading.Event().wait(0.05)
        second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        go.touch()
        out, err = first.communicate(timeout=120)
    assert second.returncode == 2
    (line,) = second.stderr.splitlines()
    assert line.startswith("error: workflow 'long' already exists: ")
    assert first.returncode == 0, err
    status = json.loads((tmp_path / "w" / "runs" / "long" / "status.json").read_text())
    assert status["phase"] == "Succeeded"
    assert (tmp_path / "w" / "runs" / "long" / "logs" / "long.log").read_text() == "done\n"


def test_a_generated_name_that_is_taken_is_drawn_again(run_local, tmp_path, monkeypatch):
    taken = tmp_path / "work" / "runs" / "t-bbbbb"
    taken.mkdir(parents=True)
    (taken / "keep").write_text("x")
    names = iter(["t-bbbbb", "t-ccccc"])
    monkeypatch.setattr(workflow_spec, "generated_name", lambda prefix: next(names))
    result = run_local(workflow(sh("main", "true")))
    assert result.name == "t-ccccc" and result.succeeded
    assert [p.name for p in taken.iterdir()] == ["keep"]


def test_a_resource_refused_before_the_run_leaves_no_run_folder(run_local, tmp_path):
    manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
    wf = workflow({"name": "main", "resource": {"action": "create", "manifest": manifest}})
    with pytest.raises(UserError):
        run_local(wf)
    assert list((tmp_path / "work" / "runs").iterdir()) == []


def test_a_private_output_path_cannot_climb_out_of_the_node(run_local, tmp_path):
    """``/tmp/../..`` is ``/`` inside a pod; its local file stays in the node's scratch folder."""
    climbing = "/tmp" + "/.." * 7 + "/leaked"  # from <scratch>/outputs/tmp up to tmp_path
    template = sh(
        "main",
        f"echo kept > {climbing}",
        outputs={"parameters": [{"name": "o", "valueFrom": {"path": climbing}}]},
    )
    result = run_local(workflow(template))
    assert result.succeeded, result.message
    assert result.node(result.name).outputs.parameters == {"o": "kept"}
    assert not (tmp_path / "leaked").exists()
