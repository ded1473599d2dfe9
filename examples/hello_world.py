"""Hello world: one container template, the workflow's entrypoint."""

from hera.workflows import Container, Workflow

from mlflows.rendering import show

with Workflow(generate_name="hello-world-", entrypoint="hello") as workflow:
    Container(name="hello", image="busybox:1.36", command=["echo"], args=["hello world"])

if __name__ == "__main__":
    show(workflow)
