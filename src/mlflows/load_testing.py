"""The load test step (``flows/e2e.py --load-test DURATION``): after ``serve``, beside
``predict``, ``python -m mlflows.ml.load_test`` drives the served model at a concurrency for a
duration, as the KServe tutorials do with ``hey``, bounded in requests and in time.

Its measures are output parameters (:data:`MEASURES`) and its JSON report is
``runs/<workflow>/load-test.json`` on the shared volume, where the run's other results are: an
output artifact would need an artifact repository, which the pipeline does not otherwise ask of a
cluster. The step cannot outlive its bound: ``activeDeadlineSeconds`` is the duration, one
request's timeout and :data:`START_SECONDS` for the container to start and read its images.

Hera is imported by the template's factory only: the entry point in the image reads
:data:`MEASURES` from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlflows.duration import parse_duration
from mlflows.errors import UserError

if TYPE_CHECKING:
    from hera.workflows import Task

    from mlflows.workloads import Workloads

# The output parameters, each a file of that name in the entry point's --outputs-dir.
MEASURES = ("requests", "errors", "requests-per-second", "p50-ms", "p99-ms")
REPORT = "load-test.json"  # beside the run's models and serving versions
MAX_CONCURRENCY = 256  # one thread each in the step
START_SECONDS = 120  # imports and reading the test images, before the clock starts


@dataclass(frozen=True)
class LoadTest:
    """``concurrency`` streams for ``duration`` (a Go duration), at most ``max_requests``
    requests, each given up after ``timeout``."""

    duration: str = "30s"
    concurrency: int = 8
    max_requests: int = 100_000
    timeout: str = "10s"

    def __post_init__(self) -> None:
        for flag, value in (("--load-test", self.duration), ("--timeout", self.timeout)):
            if parse_duration(value, flag) <= 0:
                raise UserError(f"{flag}: {value!r} is no time at all; give e.g. '30s' or '2m'")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise UserError(
                f"--load-test-concurrency: {self.concurrency}; give 1 to {MAX_CONCURRENCY}"
            )
        if self.max_requests < 1:
            raise UserError(f"--max-requests: {self.max_requests}; give 1 or more")

    def deadline_seconds(self) -> int:
        """How long the step may run at most."""
        seconds = parse_duration(self.duration, "--load-test") + parse_duration(
            self.timeout, "--timeout"
        )
        return math.ceil(seconds) + START_SECONDS


def load_test(workloads: Workloads, served: Task, load: LoadTest) -> Task:
    """A task load-testing the URL the ``served`` task (:meth:`Workloads.serve`) outputs."""
    from hera.workflows import Parameter

    from mlflows.workloads import DATASET, OUTPUTS, RUN

    def template():
        return workloads.container(
            "load-test",
            "mlflows.ml.load_test",
            {
                "--url": "{{inputs.parameters.url}}",
                "--model-name": workloads.service_name,
                "--dataset": DATASET,
                "--data-dir": workloads.data_dir(),
                "--duration": load.duration,
                "--concurrency": str(load.concurrency),
                "--max-requests": str(load.max_requests),
                "--timeout": load.timeout,
                "--report-file": workloads.volume.path(RUN, REPORT),
                "--outputs-dir": OUTPUTS,
            },
            inputs=[Parameter(name="url")],
            outputs=[workloads.output(measure) for measure in MEASURES],
            active_deadline_seconds=load.deadline_seconds(),
        )

    return workloads.template("load-test", template)(
        name="load-test", arguments={"url": workloads.output_of(served, "url")}
    )


def summary(measures: dict[str, str]) -> str:
    """The measures in one line, as the step prints them and a local run ends with them."""
    latency = (
        f"p50 {measures['p50-ms']} ms, p99 {measures['p99-ms']} ms"
        if measures["p50-ms"]
        else "no request succeeded"
    )
    return (
        f"{measures['requests']} requests, {measures['requests-per-second']} req/s, "
        f"{latency}, {measures['errors']} errors"
    )
