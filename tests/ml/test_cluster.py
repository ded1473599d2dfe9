"""TF_CONFIG as the TFJob operator sets it, and the mistakes a hand-written one can have."""

from __future__ import annotations

import json

import pytest

from mlflows.errors import UserError
from mlflows.ml.cluster import role_from_env


def tf_config(index: int, workers: int = 2, task_type: str = "worker", chief: int = 0) -> dict:
    cluster = {"worker": [f"w{i}:2222" for i in range(workers)]}
    if chief:
        cluster["chief"] = ["c0:2222"]
    config = {"cluster": cluster, "task": {"type": task_type, "index": index}}
    return {"TF_CONFIG": json.dumps(config)}


def test_without_tf_config_the_process_is_a_one_worker_cluster():
    role = role_from_env({})
    assert (role.num_workers, role.is_chief) == (1, True)


def test_in_a_worker_only_job_worker_0_is_the_chief():
    roles = [role_from_env(tf_config(i, workers=3)) for i in range(3)]
    assert [r.is_chief for r in roles] == [True, False, False]
    assert {r.num_workers for r in roles} == {3}
    assert roles[1].name == "worker 1"


def test_a_chief_task_is_the_chief_instead_of_worker_0():
    assert role_from_env(tf_config(0, chief=1, task_type="chief")).is_chief
    worker0 = role_from_env(tf_config(0, chief=1))
    assert not worker0.is_chief and worker0.num_workers == 3


@pytest.mark.parametrize(
    "environ",
    [
        {"TF_CONFIG": "{not json"},
        {"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}})},  # no task
        tf_config(2, workers=2),  # index past the workers
        tf_config(0, task_type="ps"),  # a task type not in the cluster
    ],
)
def test_a_malformed_tf_config_is_a_user_error_showing_the_right_shape(environ):
    with pytest.raises(UserError, match=r"TF_CONFIG: .*\"task\": \{\"type\": \"worker\""):
        role_from_env(environ)
