"""``configMap`` and ``secret`` volumes: the objects' keys as files, read from the run's object
store (``--apply``)."""

import base64
import re

import pytest
import yaml
from localrun_helpers import by_display_name, sh, workflow

from mlflows.errors import UserError
from mlflows.local.executor.isolation import pod_isolation

SETTINGS = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings"},
    "data": {"mode": "fast", "level": "3"},
}
TOKEN = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "token"},
    "data": {"value": base64.b64encode(b"s3cret").decode()},
}


def applied(tmp_path, *objects):
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(list(objects)))
    return path


def reader(script, *volumes):
    template = sh("main", script)
    template["container"]["volumeMounts"] = [
        {"name": volume["name"], "mountPath": f"/etc/{volume['name']}"} for volume in volumes
    ]
    return workflow(template, volumes=list(volumes))


def test_keys_become_files(run_local, tmp_path):
    wf = reader(
        # the pod's output shows what it read: every key, the chosen item, the decoded secret
        'echo "$(cat /etc/all/mode)-$(cat /etc/all/level) $(ls /etc/some) $(cat /etc/some/conf/m)'
        ' $(cat /etc/secret/value)"',
        {"name": "all", "configMap": {"name": "settings"}},
        {
            "name": "some",
            "configMap": {"name": "settings", "items": [{"key": "mode", "path": "conf/m"}]},
        },
        {"name": "secret", "secret": {"secretName": "token"}},
    )
    result = run_local(wf, apply=[applied(tmp_path, SETTINGS, TOKEN)])
    assert result.phase == "Succeeded"
    node = by_display_name(result)[result.name]
    assert node["phase"] == "Succeeded"
    log = (result.run_dir / "logs").iterdir()
    assert "fast-3 conf fast s3cret" in "".join(path.read_text() for path in log)


def test_an_optional_missing_config_map_is_an_empty_directory(run_local):
    wf = reader(
        'test -z "$(ls -A /etc/maybe)"',
        {"name": "maybe", "configMap": {"name": "absent", "optional": True}},
    )
    assert run_local(wf).phase == "Succeeded"


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (
            {"name": "v", "configMap": {"name": "absent"}},
            "volumes[v].configMap: ConfigMap 'absent' does not exist, so the pod could never start",
        ),
        (
            {"name": "v", "secret": {"secretName": "token", "items": [{"key": "k", "path": "k"}]}},
            "volumes[v].secret: Secret 'token' has no key 'k'",
        ),
        (
            {
                "name": "v",
                "configMap": {"name": "settings", "items": [{"key": "mode", "path": "../x"}]},
            },
            "volumes[v].configMap.items[0]: give a key and a relative path",
        ),
    ],
)
def test_a_volume_the_pod_could_never_mount_is_refused(run_local, tmp_path, volume, message):
    with pytest.raises(UserError, match=re.escape(message)):
        run_local(reader("true", volume), apply=[applied(tmp_path, SETTINGS, TOKEN)])


def test_an_isolated_pod_cannot_write_them(run_local, tmp_path):
    isolation = pod_isolation()
    if not isolation.isolated:
        pytest.skip(f"pods cannot be isolated here: {isolation.detail}")
    wf = reader(
        '! echo x > /etc/all/mode && test "$(cat /etc/all/mode)" = fast',
        {"name": "all", "configMap": {"name": "settings"}},
    )
    assert run_local(wf, apply=[applied(tmp_path, SETTINGS)]).phase == "Succeeded"
