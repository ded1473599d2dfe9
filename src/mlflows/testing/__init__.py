"""Test workflows with the local runner: mock some templates, run the rest for real, and assert
on the run's trace (``run.node("x").phase``, ``run.ran("train-*")``, ``run.order(...)``).

pytest gets the ``mlflows_run`` fixture from this package's plugin (:mod:`mlflows.testing.plugin`).
"""

from mlflows.testing.mocks import Mock
from mlflows.testing.run import run_workflow
from mlflows.testing.trace import Trace

__all__ = ["Mock", "Trace", "run_workflow"]
