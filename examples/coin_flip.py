"""The coin-flip conditional: a script flips a coin; `when` runs the matching branch only.
Pass ``-p coin=heads`` (or tails) to force a side."""

from hera.workflows import Container, Script, Steps, Workflow

from mlflows.rendering import show

with Workflow(
    generate_name="coin-flip-", entrypoint="main", arguments={"coin": "random"}
) as workflow:
    flip = Script(
        name="flip-coin",
        image="python:3.12-slim",
        command=["python"],
        source=(
            "import random\n"
            "forced = '{{workflow.parameters.coin}}'\n"
            "print(forced if forced in ('heads', 'tails') else random.choice(['heads', 'tails']))\n"
        ),
    )
    heads = Container(name="heads", image="busybox:1.36", command=["echo"], args=["it was heads"])
    tails = Container(name="tails", image="busybox:1.36", command=["echo"], args=["it was tails"])
    with Steps(name="main") as steps:
        coin = flip(name="flip")
        with steps.parallel():
            heads(name="heads", when=f"{coin.result} == heads")
            tails(name="tails", when=f"{coin.result} == tails")

if __name__ == "__main__":
    show(workflow)
