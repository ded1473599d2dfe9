"""Asynchronous fan-in: three branches of different lengths; each is followed up (say, served) as
soon as it ends, not after the slowest, and the join runs once all follow-ups have ended, even if
a branch failed. Compare `fan_in(branches, join)` alone, the synchronous shape."""

from hera.workflows import DAG, Container, Workflow

from mlflows.patterns import fan_in, follow_each
from mlflows.rendering import show

BRANCH_SECONDS = {"fast": 1, "medium": 2, "slow": 3}

with Workflow(generate_name="async-fan-in-", entrypoint="main") as workflow:
    work = Container(
        name="work",
        image="busybox:1.36",
        command=["sleep"],
        args=["{{inputs.parameters.seconds}}"],
        inputs={"seconds": None},
    )
    follow_up = Container(
        name="follow-up",
        image="busybox:1.36",
        command=["echo"],
        args=["followed up {{inputs.parameters.branch}}"],
        inputs={"branch": None},
    )
    join = Container(
        name="join", image="busybox:1.36", command=["echo"], args=["all branches ended"]
    )
    with DAG(name="main"):
        branches = [work(name=name, arguments={"seconds": s}) for name, s in BRANCH_SECONDS.items()]
        followed = follow_each(
            branches,
            lambda branch: follow_up(
                name=f"follow-{branch.name}", arguments={"branch": branch.name}
            ),
        )
        fan_in(followed, join=join(name="join"))

if __name__ == "__main__":
    show(workflow)
