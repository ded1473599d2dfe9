"""Tags left in a pod's template, as Argo v4.1.2 treats them: executeTemplate substitutes with
allowUnresolved (common.SubstituteParams), so a tag not in scope reaches the container as written;
only what ``argo lint`` would have refused at submission (a variable root such as ``inputs.`` or
``workflow.``, not in scope, and not one known only at run time) ends the node Error."""

import pytest
from localrun_helpers import sh, workflow


def pod(result):
    (node,) = [node for node in result.nodes if node.type == "Pod"]
    return node


def test_scheduled_time_without_its_annotation_reaches_the_pod_as_written(run_local):
    result = run_local(workflow(sh("main", "echo 'at {{workflow.scheduledTime}}'")))
    assert result.succeeded, result.message
    assert pod(result).outputs.result == "at {{workflow.scheduledTime}}"


@pytest.mark.parametrize(
    "tag",
    [
        "{{name}}",  # outside every variable root: lint never looks at it
        "{{ .Values.image }}",
        "{{item}}",  # not under 'item.': only item.<key> is checked
        "{{retries}}",
        "{{workflow.creationTimestamp.q}}",  # lint's workflow.creationTimestamp exemption
        "{{workflow.outputs.parameters.later}}",  # a global output not produced yet
        "{{workflow.failures}}",  # set for the exit handler only
        "{{outputs.result}}",  # lint lets a template refer to its own outputs
    ],
)
def test_a_tag_lint_lets_through_stays_literal(run_local, tag):
    result = run_local(workflow(sh("main", f"echo '{tag}'")))
    assert result.succeeded, result.message
    assert pod(result).outputs.result == tag


@pytest.mark.parametrize(
    "tag",
    ["{{inputs.parameters.missing}}", "{{workflow.parameters.missing}}", "{{pod.ip}}"],
)
def test_a_tag_lint_refuses_ends_the_node_error(run_local, tag):
    result = run_local(workflow(sh("main", f"echo '{tag}'")))
    assert result.phase == "Error"
    assert pod(result).phase == "Error"
    assert pod(result).message == f"failed to resolve {tag}"


def test_in_a_script_and_its_outputs_too(run_local):
    source = "open('/tmp/{{p}}.txt', 'w').write('v')\nprint('{{ user }}')"
    script = {
        "name": "main",
        "script": {"image": "python", "command": ["python"], "source": source},
        "outputs": {"parameters": [{"name": "p", "valueFrom": {"path": "/tmp/{{p}}.txt"}}]},
    }
    result = run_local(workflow(script))
    assert result.succeeded, result.message
    assert pod(result).outputs.result == "{{ user }}"
    assert pod(result).outputs.parameters == {"p": "v"}


def test_lint_reads_the_template_not_the_values_put_into_it(run_local):
    """A value that holds a tag (a failure message quoting one, say) is not a tag of the
    template: the pod gets it as it is."""
    main = sh(
        "main",
        "echo '{{inputs.parameters.msg}}'",
        inputs={"parameters": [{"name": "msg", "value": "{{workflow.parameters.msg}}"}]},
    )
    wf = workflow(main, arguments={"parameters": [{"name": "msg", "value": "{{pod.ip}}"}]})
    result = run_local(wf)
    assert result.succeeded, result.message
    assert pod(result).outputs.result == "{{pod.ip}}"
