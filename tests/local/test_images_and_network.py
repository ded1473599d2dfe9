"""What an image or the network would bring is checked before the run (written from Kubernetes'
and Argo's rules): a program a shell string runs, the entrypoint that gets a container's args,
the host an http template requests. Missing here, each is one line and nothing runs."""

import pytest
from localrun_helpers import args, dag, inputs, sh, task, workflow

from mlflows.errors import UserError
from mlflows.local.executor.shell_programs import programs_run, shell_script
from mlflows.local.spec.fields import NotRunnableHere

MISSING = "no-such-program-here"  # on no machine's PATH


def marker_first(tmp_path, refused: dict) -> dict:
    """A DAG whose first task would leave a marker file, and whose second is ``refused``."""
    marker = tmp_path / "marker"
    return workflow(
        dag("main", task("first", "touch"), task("second", refused["name"], depends="first")),
        sh("touch", f"touch {marker}"),
        refused,
    )


@pytest.mark.parametrize(
    "script",
    [
        f"{MISSING} hello",
        f"echo start; {MISSING} --moo",
        f"if true; then\n  X=1 {MISSING} > /tmp/out 2>&1\nfi",
        f"echo $({MISSING} hi) | tr a b",
        f"true && {MISSING} || exit 1",
        f"n=$((n+1)); {MISSING} $n",  # an arithmetic expansion names no program
    ],
)
def test_a_program_a_shell_string_runs_that_is_missing_is_refused(tmp_path, run_local, script):
    wf = marker_first(tmp_path, sh("moo", script))
    with pytest.raises(
        UserError, match=rf"^template moo: container: image alpine runs '{MISSING}'"
    ):
        run_local(wf)
    assert not (tmp_path / "marker").exists()
    assert not (tmp_path / "work" / "runs").exists()


def test_a_shell_script_templates_program_that_is_missing_is_refused(run_local):
    script = {"name": "s", "script": {"image": "alpine", "command": ["sh"], "source": MISSING}}
    with pytest.raises(UserError, match=rf"template s: script: image alpine runs '{MISSING}'"):
        run_local(workflow(script, entrypoint="s"))


def test_programs_that_are_here_builtins_and_what_is_known_later_run(run_local):
    script = (
        "set -e; cd /; X=1 export X\n"
        "for word in a b; do printf '%s' \"$word\"; done > /dev/null\n"
        'f="{{workflow.name}}"; [ -n "$f" ] && echo ok | tr o O'
    )
    result = run_local(workflow(sh("main", script)))
    assert result.succeeded, result.message
    (pod,) = [node for node in result.nodes if node.type == "Pod"]
    assert pod.outputs.result == "Ok"


@pytest.mark.parametrize(
    "script",
    [
        "$PROGRAM x",  # expanded at run time
        "{{inputs.parameters.program}} x",
        "/opt/tool/bin/run x",  # a path: perhaps made by an earlier step or on a volume
        f"PATH=/opt/bin:$PATH; {MISSING}",  # a changed PATH
        f"{MISSING}() {{ echo; }}; {MISSING}",  # a function
        f"case $x in a) {MISSING};; esac",
        f"find . -exec {MISSING} {{}} \\; -print",
        f"echo '{MISSING} is only text'; # {MISSING}",
        f'echo ";" {MISSING}',
    ],
)
def test_the_reader_names_no_program_it_cannot_be_sure_of(script):
    assert MISSING not in programs_run(script)


def test_only_a_shells_c_string_is_read():
    assert shell_script(["sh", "-c", "x"]) == "x"
    assert shell_script(["/bin/bash", "-euc", "x", "arg0"]) == "x"
    assert shell_script(["sh", "script.sh"]) is None
    assert shell_script(["python", "-c", "x"]) is None


def test_args_without_a_command_go_to_the_images_entrypoint_and_are_refused(tmp_path, run_local):
    refused = {"name": "say", "container": {"image": "argoproj/argosay:v2", "args": ["echo", "x"]}}
    with pytest.raises(
        UserError,
        match=r"^template say: container: image argoproj/argosay:v2 has only args, so it would "
        r"run the image's entrypoint",
    ):
        run_local(marker_first(tmp_path, refused))
    assert not (tmp_path / "marker").exists()


def http(name: str, url: str) -> dict:
    return {"name": name, "inputs": inputs("url"), "http": {"url": url}}


def test_an_http_host_that_does_not_resolve_is_refused_before_the_run(tmp_path, run_local):
    # RFC 6761: no name under .invalid resolves, with or without a network.
    wf = marker_first(tmp_path, http("get", "http://api.example.invalid/v1"))
    wf["spec"]["templates"][0]["dag"]["tasks"][1]["arguments"] = args(url="x")
    with pytest.raises(NotRunnableHere, match=r"'api.example.invalid' cannot be resolved"):
        run_local(wf)
    assert not (tmp_path / "marker").exists()


def test_a_templated_url_is_checked_with_the_values_its_callers_pass(run_local):
    wf = workflow(
        dag(
            "main",
            task("local", "get", arguments=args(url="http://127.0.0.1:9/")),
            task("far", "get", arguments=args(url="https://files.example.invalid/a.json")),
        ),
        http("get", "{{inputs.parameters.url}}"),
    )
    with pytest.raises(
        NotRunnableHere,
        match=r"^template main: task far: http.url https://files.example.invalid/a.json: host",
    ):
        run_local(wf)


def test_a_url_sent_through_a_proxy_is_not_looked_up_here(run_local, monkeypatch):
    # The proxy would resolve the name. (The task is skipped: urllib keeps the first request's
    # proxies for the rest of the process.)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    call = args(url="http://api.example.invalid/v1")
    wf = workflow(
        dag("main", task("get", "get", arguments=call, when="1 == 2")),
        http("get", "{{inputs.parameters.url}}"),
    )
    assert run_local(wf).node("get").phase == "Skipped"
    monkeypatch.delenv("http_proxy")
    with pytest.raises(NotRunnableHere, match="'api.example.invalid' cannot be resolved"):
        run_local(wf)
