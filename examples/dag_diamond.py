"""The DAG diamond: A, then B and C side by side, then D once both are done."""

from hera.workflows import DAG, Container, Workflow

from mlflows.rendering import show

with Workflow(generate_name="dag-diamond-", entrypoint="diamond") as workflow:
    echo = Container(
        name="echo",
        image="busybox:1.36",
        command=["echo"],
        args=["{{inputs.parameters.message}}"],
        inputs={"message": None},
    )
    with DAG(name="diamond"):
        a = echo(name="a", arguments={"message": "A"})
        b = echo(name="b", arguments={"message": "B"})
        c = echo(name="c", arguments={"message": "C"})
        d = echo(name="d", arguments={"message": "D"})
        a >> [b, c] >> d

if __name__ == "__main__":
    show(workflow)
