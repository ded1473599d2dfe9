"""``--rollout``: what it parses to, what the canary shape renders (the share written once, the
replace shape untouched), and that the resource steps' Role already allows each kubectl verb its
resource templates use. The rollout itself runs in tests/test_canary_rollout.py."""

from __future__ import annotations

import pytest
import yaml

from mlflows.canary import Canary, parse_rollout
from mlflows.cluster import setup_manifests
from mlflows.errors import UserError
from mlflows.rendering import render, to_yaml

# What kubectl asks the API server for, per resource action, and Argo's wait for conditions.
VERBS = {"apply": {"get", "create", "patch"}, "patch": {"patch"}, "get": {"get"}}
WAITING = {"get", "watch"}


@pytest.mark.parametrize(
    "text, expected",
    [("replace", None), ("canary", Canary()), ("canary:25", Canary(percent=25))],
)
def test_rollout_values(text, expected):
    assert parse_rollout(text) == expected


@pytest.mark.parametrize("text", ["canary:0", "canary:100", "canary:x", "replace:10", "blue"])
def test_bad_rollout_values_are_refused(text):
    with pytest.raises(UserError, match="--rollout"):
        parse_rollout(text)


def test_the_canary_share_is_written_once_and_the_promotion_and_rollback_are_patches(e2e):
    manifest = render(e2e.build_workflow(rollout=Canary(percent=35)))
    templates = {t["name"]: t for t in manifest["spec"]["templates"]}
    assert to_yaml(manifest).count("canaryTrafficPercent: 35") == 1
    canary = yaml.safe_load(templates["canary"]["resource"]["manifest"])
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 35
    assert canary["metadata"]["annotations"] == {"serving.kserve.io/enable-tag-routing": "true"}
    for name, percent in (("promote-canary", 100), ("rollback", 0)):
        resource = templates[name]["resource"]
        assert resource["action"] == "patch" and resource["mergeStrategy"] == "merge"
        patch = yaml.safe_load(resource["manifest"])
        assert patch["spec"] == {"predictor": {"canaryTrafficPercent": percent}}
    # The replace shape has neither; its promote serves the versions directory.
    assert "canary" not in {t["name"] for t in render(e2e.build_workflow())["spec"]["templates"]}


def test_the_resource_role_allows_every_verb_the_rollout_uses(e2e):
    roles = {m["metadata"]["name"]: m for m in setup_manifests("mlflows") if m["kind"] == "Role"}
    manifest = render(e2e.build_workflow(rollout=Canary()))
    used = set()
    for template in manifest["spec"]["templates"]:
        resource = template.get("resource")
        if resource is None or "InferenceService" not in resource["manifest"]:
            continue
        role = roles[template["serviceAccountName"]]
        [rule] = [r for r in role["rules"] if "inferenceservices" in r["resources"]]
        needed = VERBS[resource["action"]] | (WAITING if "successCondition" in resource else set())
        assert needed <= set(rule["verbs"]), template["name"]
        used |= needed
    assert used == set(rule["verbs"])  # and nothing more than they use
