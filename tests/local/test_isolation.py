"""What a pod may touch: isolated, its volumes at their real mount paths (read-only where
``readOnly``), a private /tmp, and the rest of this machine read-only; not isolated
(``MLFLOWS_POD_ISOLATION=none``), its paths rewritten to the same local directories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml
from localrun_helpers import by_display_name, dag, sh, task, workflow
from resources_fixtures import WORKERS_SUCCEEDED, kube_fixture, tfjob  # noqa: F401 (kube)

from mlflows.local.executor.isolation import SETTING, pod_isolation

DATA = {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
SCRATCH = {"name": "scratch", "emptyDir": {}}


@pytest.fixture
def isolated():
    isolation = pod_isolation()
    if not isolation.isolated:
        pytest.skip(f"pods cannot be isolated here: {isolation.detail}")


@pytest.fixture
def host_dir():
    """A directory of this machine a pod sees (pytest's tmp_path is under /tmp, which a pod sees
    as its own private /tmp)."""
    directory = Path(tempfile.mkdtemp(prefix="mlflows-isolation-test-", dir="/var/tmp"))
    yield directory
    shutil.rmtree(directory)


def mounted(template: dict, *mounts: tuple[str, str, bool]) -> dict:
    """``template`` with volume mounts (name, mountPath, readOnly)."""
    template["container"]["volumeMounts"] = [
        {"name": name, "mountPath": path, "readOnly": read_only} for name, path, read_only in mounts
    ]
    return template


def test_pods_are_isolated_here_when_root():
    """As root on Linux with util-linux, isolation must work: a failing probe is a bug here, not a
    reason to skip the tests below."""
    if not (sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("unshare")):
        pytest.skip("isolation is only required of root on Linux with util-linux unshare")
    assert pod_isolation().isolated, pod_isolation().detail


def test_a_pod_writes_its_volumes_and_nothing_else(run_local, isolated, host_dir):
    work = host_dir / "work"
    claim = work / "volumes" / "data"
    claim.mkdir(parents=True)
    (claim / "in.txt").write_text("from the claim\n")
    secret = f"/tmp/mlflows-private-{uuid.uuid4().hex}"
    escaped = Path(f"/mlflows-escaped-{uuid.uuid4().hex}")
    result = run_local(
        workflow(
            dag(
                "main",
                *(task(name, name) for name in ("host", "escape", "read-only", "volumes", "tmp")),
            ),
            sh("host", f"echo x > {host_dir}/written"),
            sh("escape", f"echo x > ../{escaped.name} && cat {escaped}"),
            mounted(
                sh("read-only", "cat /mnt/ro/in.txt; echo x > /mnt/ro/new"),
                ("data", "/mnt/ro", True),
            ),
            mounted(
                sh("volumes", "grep ' /mnt/vol ' /proc/mounts && echo y > /mnt/data/written"),
                ("data", "/mnt/data", False),
                ("scratch", "/mnt/vol", False),
            ),
            sh(
                "tmp",
                f"echo secret > {secret}; echo out > /tmp/out",
                outputs={"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out"}}]},
            ),
            volumes=[DATA, SCRATCH],
        ),
        work_dir=work,
    )
    nodes = by_display_name(result)
    for refused in ("host", "read-only"):
        assert nodes[refused]["phase"] == "Failed"
        assert "Read-only file system" in result.log(refused)
    assert not (host_dir / "written").exists()
    # a new file under / lands in the pod's own layer, as in a container's: never on the host
    assert nodes["escape"]["phase"] == "Succeeded"
    assert result.log("escape").startswith("x")
    assert not escaped.exists()
    # the read worked, then the write was refused: the log keeps the order they were written in
    read, refusal = result.log("read-only").splitlines()
    assert read == "from the claim"
    assert "Read-only file system" in refusal
    assert sorted(path.name for path in claim.iterdir()) == ["in.txt", "written"]
    assert nodes["volumes"]["phase"] == "Succeeded"  # /proc/mounts shows /mnt/vol, as Argo checks
    assert nodes["tmp"]["outputs"]["parameters"] == [{"name": "out", "value": "out"}]
    assert not Path(secret).exists()  # the pod's /tmp is its own


@pytest.mark.parametrize("setting", ["auto", "none"], ids=["isolated", "not isolated"])
def test_outputs_volumes_and_working_dir_either_way(run_local, monkeypatch, setting):
    """The same workflow reads the same outputs whether its paths are bound or rewritten."""
    monkeypatch.setenv(SETTING, setting)
    step = mounted(
        sh(
            "main",
            "pwd > /mnt/data/pwd; echo r > /result.txt; mkdir -p out; echo w > out/file",
            outputs={
                "parameters": [
                    {"name": "root", "valueFrom": {"path": "/result.txt"}},
                    {"name": "claim", "valueFrom": {"path": "/mnt/data/pwd"}},
                ]
            },
        ),
        ("data", "/mnt/data", False),
    )
    step["container"]["workingDir"] = "/mnt/data/work"
    result = run_local(workflow(step, volumes=[DATA]))
    assert result.phase == "Succeeded", result.message
    parameters = result.nodes[0].outputs.parameters
    claim = Path(result.run_dir).parents[1] / "volumes" / "data"
    assert parameters["root"] == "r"
    assert parameters["claim"] == ("/mnt/data/work" if setting == "auto" else str(claim / "work"))
    assert (claim / "work" / "out" / "file").read_text() == "w\n"


@pytest.mark.parametrize("setting", ["auto", "none"], ids=["isolated", "not isolated"])
def test_without_working_dir_a_pod_starts_in_root_when_isolated(run_local, monkeypatch, setting):
    """As in most images (WORKDIR /): a relative ``result.txt`` is ``/result.txt``, an output the
    runner reads, in the pod's own layer; not isolated, the pod starts in its scratch directory."""
    if setting == "auto" and not pod_isolation().isolated:
        pytest.skip(f"pods cannot be isolated here: {pod_isolation().detail}")
    monkeypatch.setenv(SETTING, setting)
    name = f"mlflows-result-{uuid.uuid4().hex}.txt"
    outputs = {
        "parameters": [{"name": "result", "valueFrom": {"path": "/" + name}}],
        "artifacts": [{"name": "result", "path": "/" + name}],
    }
    declared = {"outputs": outputs} if setting == "auto" else {}
    step = sh("main", f"pwd; echo r > {name}", **declared)
    result = run_local(workflow(step))
    assert result.phase == "Succeeded", result.message
    cwd = Path(result.log(result.nodes[0].display_name).splitlines()[0])
    if setting == "auto":
        assert cwd == Path("/")
        assert result.nodes[0].outputs.parameters["result"] == "r"  # and the artifact was saved
    else:
        assert cwd.name == "work" and Path(result.run_dir) in cwd.parents
        assert (cwd / name).read_text() == "r\n"
    assert not Path("/" + name).exists()


def test_tfjob_replicas_are_isolated_like_steps(kube, isolated):
    check = "grep -q ' /mnt/data ' /proc/mounts && ! touch /etc/mlflows-isolation-test"
    manifest = tfjob(name="isolated")
    container = manifest["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    container["command"] = ["sh", "-c", check]
    result = kube.run("create", manifest, WORKERS_SUCCEEDED)
    assert result.phase == "Succeeded", result.message
    assert not Path("/etc/mlflows-isolation-test").exists()


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("auto", "note: pods are isolated (mount and PID namespaces)"),
        ("none", f"note: pods are not isolated ({SETTING}=none)"),
    ],
)
def test_the_run_says_once_how_pods_are_isolated(tmp_path, isolated, setting, says):
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(workflow(sh("main", "true"))))
    run = subprocess.run(
        [sys.executable, "-m", "mlflows", "run", str(path), "--work-dir", str(tmp_path / "w")],
        env={**os.environ, SETTING: setting},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("pods are") == 1 and says in run.stdout


def test_a_wrong_setting_is_one_error_line(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(workflow(sh("main", "true"))))
    run = subprocess.run(
        [sys.executable, "-m", "mlflows", "run", str(path), "--work-dir", str(tmp_path / "w")],
        env={**os.environ, SETTING: "yes"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.splitlines() == [f"error: {SETTING}='yes': use auto (the default) or none"]
    assert not (tmp_path / "w").exists()


def test_an_interpreter_under_tmp_still_runs_isolated_pods(isolated, tmp_path):
    """A CI clone or virtual environment under /tmp is hidden by a pod's private /tmp unless it is
    bound back: then no pod could start its python, and every run fell back to no isolation."""
    environment = tmp_path / "venv"  # pytest's tmp_path is under /tmp
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", environment], check=True)
    (site,) = environment.glob("lib/python*/site-packages")
    # this environment's packages and mlflows, as an editable install reaches its source
    import mlflows

    source = Path(mlflows.__file__).resolve().parents[1]
    here = [p for p in sys.path if p.endswith("site-packages")]
    (site / "outer.pth").write_text("\n".join([*here, str(source)]) + "\n")
    hello = tmp_path / "hello.yaml"
    hello.write_text(yaml.safe_dump(workflow(sh("main", "echo from the pod"))))
    done = subprocess.run(
        [environment / "bin" / "python", "-m", "mlflows", "run", hello, "--work-dir", "w"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={name: value for name, value in os.environ.items() if name != SETTING},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pods are isolated" in done.stdout and "from the pod" in done.stdout
