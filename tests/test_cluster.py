"""The set-up manifests grant each service account exactly what the rendered workflow's
steps use."""

from __future__ import annotations

import re

import yaml

from mlflows.cluster import setup_manifests
from mlflows.rendering import render


def rules_by_account(manifests: list[dict]) -> dict[str, list[dict]]:
    return {m["metadata"]["name"]: m["rules"] for m in manifests if m["kind"] == "Role"}


def allowed(rules: list[dict], group: str, resource: str, verb: str) -> bool:
    return any(
        group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules
    )


def test_roles_hold_only_the_needed_verbs():
    rules = rules_by_account(setup_manifests("ml"))
    resources = rules["mlflows-resources"]
    for group, resource in (("kubeflow.org", "tfjobs"), ("serving.kserve.io", "inferenceservices")):
        for verb in ("create", "get", "watch", "patch"):
            assert allowed(resources, group, resource, verb)
        assert not allowed(resources, group, resource, "delete")
    for verb in ("create", "update", "get"):
        assert allowed(rules["mlflows-steps"], "", "configmaps", verb)
    assert not allowed(rules["mlflows-steps"], "kubeflow.org", "tfjobs", "create")
    assert "mlflows-workloads" not in rules  # training and serving pods never call the API


def test_every_account_the_workflow_names_exists_with_rights_for_its_resources(e2e):
    manifests = setup_manifests("mlflows")
    accounts = {m["metadata"]["name"] for m in manifests if m["kind"] == "ServiceAccount"}
    rules = rules_by_account(manifests)
    workflow = render(e2e.build_workflow())
    assert workflow["spec"]["serviceAccountName"] in accounts
    for template in workflow["spec"]["templates"]:
        if account := template.get("serviceAccountName"):
            assert account in accounts
        if resource := template.get("resource"):
            # Argo substitutes the placeholders (the loop's worker count) before parsing it.
            created = yaml.safe_load(re.sub(r"\{\{[^}]*\}\}", "1", resource["manifest"]))
            group = created["apiVersion"].split("/")[0]
            plural = created["kind"].lower() + "s"
            assert allowed(
                rules[template["serviceAccountName"]],
                group,
                plural,
                resource["action"] if resource["action"] == "create" else "patch",
            )
            pod_account = (
                created["spec"].get("predictor", {}).get("serviceAccountName")
                or created["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"][
                    "serviceAccountName"
                ]
            )
            assert pod_account in accounts


def test_claim_matches_the_workflow_volume(e2e):
    claim = next(m for m in setup_manifests("mlflows") if m["kind"] == "PersistentVolumeClaim")
    volumes = render(e2e.build_workflow())["spec"]["volumes"]
    assert volumes == [
        {"name": "data", "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}}
    ]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
