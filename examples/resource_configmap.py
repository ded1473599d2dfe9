"""A resource template: create a ConfigMap, then read it back with a condition on its data."""

from hera.workflows import Parameter, Resource, Steps, Workflow
from hera.workflows import models as m

from mlflows.manifest import to_yaml
from mlflows.rendering import show

CONFIG = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "{{workflow.name}}-settings"},
    "data": {"learning-rate": "0.001", "stage": "ready"},
}

with Workflow(generate_name="resource-configmap-", entrypoint="main") as workflow:
    create = Resource(name="create-configmap", action="create", manifest=to_yaml(CONFIG))
    check = Resource(
        name="check-configmap",
        action="get",
        manifest=to_yaml({key: CONFIG[key] for key in ("apiVersion", "kind", "metadata")}),
        success_condition="data.stage = ready",
        outputs=[
            Parameter(
                name="learning-rate", value_from=m.ValueFrom(json_path="{.data.learning-rate}")
            )
        ],
    )
    with Steps(name="main"):
        create(name="create")
        check(name="check")

if __name__ == "__main__":
    show(workflow)
