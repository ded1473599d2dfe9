"""A script template: Python source run by the image's interpreter; its stdout is the result."""

from hera.workflows import Container, Script, Steps, Workflow

from mlflows.rendering import show

with Workflow(generate_name="script-template-", entrypoint="main") as workflow:
    gen_number = Script(
        name="gen-number",
        image="python:3.12-slim",
        command=["python"],
        source="import random\nrandom.seed(7)\nprint(random.randint(1, 100))\n",
    )
    print_number = Container(
        name="print-number",
        image="busybox:1.36",
        command=["echo"],
        args=["the number is {{inputs.parameters.number}}"],
        inputs={"number": None},
    )
    with Steps(name="main"):
        number = gen_number(name="gen")
        print_number(name="print", arguments={"number": number.result})

if __name__ == "__main__":
    show(workflow)
