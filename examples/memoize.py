"""A memoized step: the slow "download" runs once per dataset within the cache's max age; a rerun
reads its output from the cache instead."""

from hera.workflows import DAG, Container, Parameter, Workflow
from hera.workflows import models as m

from mlflows.memoize import MemoCache, memoized
from mlflows.rendering import show

with Workflow(
    generate_name="memoize-", entrypoint="main", arguments={"dataset": "digits"}
) as workflow:
    download = memoized(
        Container(
            name="download",
            image="python:3.12-slim",
            command=["python", "-c"],
            args=[
                "import time, pathlib; time.sleep(2); "
                "pathlib.Path('/tmp/outputs').mkdir(parents=True, exist_ok=True); "
                "pathlib.Path('/tmp/outputs/rows').write_text('1797')"
            ],
            inputs=[Parameter(name="dataset")],
            outputs=[Parameter(name="rows", value_from=m.ValueFrom(path="/tmp/outputs/rows"))],
        ),
        key_parameters=["dataset"],
        cache=MemoCache(config_map="mlflows-example-memo", max_age="10m"),
    )
    report = Container(
        name="report",
        image="busybox:1.36",
        command=["echo"],
        args=["{{inputs.parameters.rows}} rows"],
        inputs={"rows": None},
    )
    with DAG(name="main"):
        rows = download(name="download", arguments={"dataset": "{{workflow.parameters.dataset}}"})
        rows >> report(name="report", arguments={"rows": rows.get_parameter("rows")})

if __name__ == "__main__":
    show(workflow)
