"""A pod's other containers and pod-level fields, as Argo v4.1.2 runs them: sidecars beside the
main container (stopped once it ended), init containers first and in order, a command this
machine lacks refused before anything runs, pod-shaping fields accepted with a note."""

from __future__ import annotations

import socket

import pytest
from localrun_helpers import by_display_name, sh, workflow

from mlflows.errors import UserError
from mlflows.local.executor.isolation import SETTING


@pytest.fixture(params=["auto", "none"], ids=["isolated", "not isolated"])
def isolation_setting(request, monkeypatch):
    monkeypatch.setenv(SETTING, request.param)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serving(port: int) -> bool:
    with socket.socket() as client:
        return client.connect_ex(("127.0.0.1", port)) == 0


FETCH = """
import time, urllib.request
for _ in range(200):
    try:
        page = urllib.request.urlopen("http://127.0.0.1:{port}/", timeout=1).read().decode()
        break
    except OSError:
        time.sleep(0.1)
print("fetched" if "Directory listing" in page else page)
"""


def test_a_sidecar_serves_the_main_container_and_is_stopped_when_it_ends(
    run_local, isolation_setting
):
    port = free_port()
    main = {
        "name": "main",
        "script": {"image": "python", "command": ["python"], "source": FETCH.format(port=port)},
        "sidecars": [
            {
                "name": "web",
                "image": "python",
                "command": ["python", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            }
        ],
    }
    result = run_local(workflow(main))
    assert result.phase == "Succeeded", result.message
    node = by_display_name(result)[result.name]
    assert (node["type"], node["phase"], node["templateName"]) == ("Pod", "Succeeded", "main")
    assert node["outputs"]["result"] == "fetched"
    assert not serving(port)  # the sidecar ended with the main container
    sidecar_log = result.run_dir / "logs" / f"{result.name}.web.log"
    assert "GET / " in sidecar_log.read_text()


def test_init_containers_run_first_in_order_with_mirrored_mounts(run_local, isolation_setting):
    main = sh("main", "cat /shared/order; echo main")
    main["container"]["volumeMounts"] = [{"name": "shared", "mountPath": "/shared"}]
    main["volumes"] = [{"name": "shared", "emptyDir": {}}]
    main["initContainers"] = [
        {
            "name": "first",
            "image": "alpine",
            "command": ["sh", "-c", "echo first > /shared/order"],
            "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
        },
        {
            "name": "second",
            "image": "alpine",
            "command": ["sh", "-c", "echo second >> /shared/order"],
            "mirrorVolumeMounts": True,
        },
    ]
    result = run_local(workflow(main))
    assert result.phase == "Succeeded", result.message
    node = by_display_name(result)[result.name]
    assert (node["type"], node["phase"]) == ("Pod", "Succeeded")
    assert node["outputs"]["result"] == "first\nsecond\nmain"


def test_a_failing_init_container_fails_the_pod_before_main_runs(run_local, tmp_path):
    marker = tmp_path / "main-ran"
    main = sh("main", f"touch {marker}")
    main["initContainers"] = [
        {"name": "ok", "image": "alpine", "command": ["true"]},
        {"name": "broken", "image": "alpine", "command": ["sh", "-c", "exit 3"]},
        {"name": "never", "image": "alpine", "command": ["sh", "-c", f"touch {marker}"]},
    ]
    result = run_local(workflow(main))
    assert result.phase == "Failed"
    node = by_display_name(result)[result.name]
    assert (node["type"], node["phase"]) == ("Pod", "Failed")
    assert node["message"] == "init container broken: Error (exit code 3)"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("field", "container", "says"),
    [
        (
            "sidecars",
            {"name": "web", "image": "nginx:1.13", "command": ["nginx", "-g", "daemon off;"]},
            "template main: sidecars[web]: image nginx:1.13 runs 'nginx', which is not on this "
            "machine",
        ),
        (
            "initContainers",
            {"name": "setup", "image": "busybox", "command": ["/no/such/binary"]},
            "template main: initContainers[setup]: image busybox runs '/no/such/binary', which "
            "is not on this machine",
        ),
        (
            "container",
            {"image": "argoproj/argosay:v2"},
            "template main: container: image argoproj/argosay:v2 has no command or args, so it "
            "would run the image's entrypoint",
        ),
        (
            "container",
            {"image": "influxdb:1.2", "command": ["influxd"]},
            "template main: container: image influxdb:1.2 runs 'influxd'",
        ),
    ],
    ids=["sidecar", "init container", "no command", "main"],
)
def test_a_command_this_machine_lacks_is_refused_before_anything_runs(
    run_local, tmp_path, field, container, says
):
    main = sh("main", "echo ran")
    if field == "container":
        main["container"] = container
    else:
        main[field] = [container]
    with pytest.raises(UserError) as refused:
        run_local(workflow(main))
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "work" / "runs").exists() or not any(
        (tmp_path / "work" / "runs").iterdir()
    )


def test_a_templated_executable_is_checked_only_when_it_runs(run_local):
    main = sh("main", "unused")
    main["inputs"] = {"parameters": [{"name": "shell", "value": "sh"}]}
    main["container"]["command"] = ["{{inputs.parameters.shell}}", "-c"]
    main["container"]["args"] = ["echo templated"]
    result = run_local(workflow(main))
    assert result.phase == "Succeeded", result.message


def test_pod_shaping_fields_are_accepted_and_said_to_have_no_effect(run_local, capsys):
    patch = '{"containers":[{"name":"main","resources":{"limits":{"cpu":"100m"}}}]}'
    main = sh("main", "echo hello", podSpecPatch=patch, podResources={"limits": {"cpu": "1"}})
    spec = {"podSpecPatch": patch, "podResources": {"limits": {"cpu": "2"}}, "podGC": {}}
    result = run_local(workflow(main, **spec), quiet=False)
    assert result.phase == "Succeeded", result.message
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if "has no effect here" in line]
    assert [note.split(" has no")[0].split()[-1] for note in notes] == [
        "podSpecPatch",
        "podResources",
        "podGC",
    ]


def http_server(name: str, port: int) -> dict:
    """A daemon template: a web server on ``port``, ready once it answers."""
    return {
        "name": name,
        "daemon": True,
        "container": {
            "image": "python",
            "command": ["python", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            "readinessProbe": {"httpGet": {"path": "/", "port": port}, "periodSeconds": 1},
        },
    }


def fetcher(name: str, port: int) -> dict:
    """Fetches from the server at its input ``ip`` (passed as an argument, as in Argo's
    daemon-nginx example: a template's body does not see steps.* or tasks.*)."""
    source = FETCH.format(port=port).replace("127.0.0.1", "{{inputs.parameters.ip}}")
    return {
        "name": name,
        "inputs": {"parameters": [{"name": "ip"}]},
        "script": {"image": "python", "command": ["python"], "source": source},
    }


def with_ip(reference: str) -> dict:
    return {"parameters": [{"name": "ip", "value": reference}]}


def test_a_daemon_step_serves_later_steps_and_is_killed_when_its_steps_end(
    run_local, isolation_setting
):
    port = free_port()
    steps = {
        "name": "main",
        "steps": [
            [{"name": "server", "template": "server"}],
            [{"name": "client", "template": "client", "arguments": with_ip("{{steps.server.ip}}")}],
        ],
    }
    result = run_local(workflow(steps, http_server("server", port), fetcher("client", port)))
    assert result.phase == "Succeeded", result.message
    nodes = by_display_name(result)
    assert {name: (node["type"], node["phase"]) for name, node in nodes.items()} == {
        result.name: ("Steps", "Succeeded"),
        "[0]": ("StepGroup", "Succeeded"),
        "server": ("Pod", "Succeeded"),
        "[1]": ("StepGroup", "Succeeded"),
        "client": ("Pod", "Succeeded"),
    }
    assert (nodes["server"]["daemoned"], nodes["server"]["podIP"]) == (True, "127.0.0.1")
    assert nodes["client"]["outputs"]["result"] == "fetched"
    assert not serving(port)  # killed when the steps ended


def test_a_daemon_task_is_reached_by_its_ip_and_depends_sees_it_daemoned(run_local):
    port = free_port()
    dag = {
        "name": "main",
        "dag": {
            "tasks": [
                {"name": "server", "template": "server"},
                {
                    "name": "client",
                    "template": "client",
                    "depends": "server.Daemoned",
                    "arguments": with_ip("{{tasks.server.ip}}"),
                },
            ]
        },
    }
    result = run_local(workflow(dag, http_server("server", port), fetcher("client", port)))
    assert result.phase == "Succeeded", result.message
    nodes = by_display_name(result)
    assert (nodes["server"]["phase"], nodes["server"]["daemoned"]) == ("Succeeded", True)
    assert nodes["client"]["outputs"]["result"] == "fetched"
    assert nodes["client"]["inputs"]["parameters"] == [{"name": "ip", "value": "127.0.0.1"}]
    assert not serving(port)


def test_a_daemon_with_a_grpc_probe_is_refused(run_local):
    daemon = http_server("main", free_port())
    daemon["container"]["readinessProbe"] = {"grpc": {"port": 1}}
    with pytest.raises(UserError, match="readinessProbe needs exactly one of exec, httpGet"):
        run_local(workflow(daemon))


def container_set(*containers: dict, **fields) -> dict:
    return {
        "name": "main",
        "volumes": [{"name": "work", "emptyDir": {}}],
        "containerSet": {
            "volumeMounts": [{"name": "work", "mountPath": "/work"}],
            "containers": list(containers),
            **fields,
        },
    }


def step(name: str, script: str, *dependencies: str) -> dict:
    """A container of a set, running ``sh -c script``."""
    container = {"name": name, "image": "alpine", "command": ["sh", "-c", script]}
    return {**container, "dependencies": list(dependencies)} if dependencies else container


def test_a_container_set_runs_its_containers_in_dependency_order(run_local, isolation_setting):
    template = container_set(
        step("a", "echo a >> /work/order"),
        step("b", "sleep 0.2; echo b >> /work/order", "a"),
        step("c", "echo c >> /work/order", "a"),
        step("main", "cat /work/order", "b", "c"),
    )
    result = run_local(workflow(template))
    assert result.phase == "Succeeded", result.message
    nodes = by_display_name(result)
    assert {name: (node["type"], node["phase"]) for name, node in nodes.items()} == {
        result.name: ("Pod", "Succeeded"),
        "a": ("Container", "Succeeded"),
        "b": ("Container", "Succeeded"),
        "c": ("Container", "Succeeded"),
        "main": ("Container", "Succeeded"),
    }
    assert nodes["a"]["name"] == f"{result.name}.a"
    by_id = {node["id"]: node["displayName"] for node in nodes.values()}
    children = {name: sorted(by_id[i] for i in n.get("children", [])) for name, n in nodes.items()}
    assert children == {
        result.name: ["a"],
        "a": ["b", "c"],
        "b": ["main"],
        "c": ["main"],
        "main": [],
    }
    assert nodes[result.name]["outputs"]["result"] == "a\nc\nb"  # the main container's


def test_a_failed_container_fails_the_pod_and_its_dependents_do_not_run(run_local):
    template = container_set(
        step("a", "exit 2"),
        step("main", "echo ran > /work/ran", "a"),
    )
    result = run_local(workflow(template))
    nodes = by_display_name(result)
    assert result.phase == "Failed"
    assert (nodes["a"]["phase"], nodes["a"]["message"]) == ("Failed", "Error (exit code 2)")
    assert nodes["main"]["phase"] == "Failed"
    assert nodes["main"]["message"] == 'dependency "a" exited with non-zero code: 2'
    assert nodes[result.name]["phase"] == "Failed"


@pytest.mark.parametrize(
    ("retries", "phase", "result"), [("2", "Succeeded", "attempt 2"), (0, "Failed", "")]
)
def test_a_container_set_retry_strategy_reruns_a_failing_container(
    run_local, retries, phase, result
):
    """The command fails on its first attempt only: one retry makes the pod succeed."""
    flaky = (
        "n=$(cat /work/n 2>/dev/null || echo 0); echo $((n+1)) > /work/n; "
        "[ $n -ge 1 ] && echo attempt $((n+1))"
    )
    template = container_set(
        step("main", flaky), retryStrategy={"retries": retries, "duration": "100ms"}
    )
    run = run_local(workflow(template))
    assert run.phase == phase, run.message
    main = by_display_name(run)["main"]
    assert (main["phase"], main["outputs"].get("result", "")) == (phase, result)


def test_init_containers_of_a_container_set_are_refused_not_dropped(run_local):
    template = container_set(step("main", "true"))
    template["initContainers"] = [{"name": "setup", "image": "alpine", "command": ["true"]}]
    with pytest.raises(UserError, match="main: initContainers on a containerSet template is not"):
        run_local(workflow(template))
