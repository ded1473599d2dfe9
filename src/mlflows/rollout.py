"""Canary promotion with automatic rollback, as Argo steps and resource templates
(``--rollout canary[:PERCENT]``).

The ``promote`` steps (under the champion mutex) become::

    champion ── publish (when it beats the champion) ── rollout (when it does)

    rollout:  canary ── verify ──┬─ promote-canary   (when verify says promote)
                                 └─ rollback         (when verify says rollback)

- ``publish`` copies the model into the next version and outputs its number, which the canary
  revision pins (``storageUri: pvc://<claim>/runs/<workflow>/serving/<N>``): each revision
  serves one version, not the newest of the directory.
- ``canary`` applies the InferenceService with that storageUri, ``canaryTrafficPercent`` and
  tag routing (annotation ``serving.kserve.io/enable-tag-routing``): KServe gives the new
  revision the percent and the rolled-out one the rest, the first under the tag ``latest``, the
  second under ``prev``, each with its own URL. It waits until the rollout settles (the model
  loaded, or blocked by a failed load) and outputs both tag URLs, the revision it created and
  the revision the ``latest`` tag reaches (the two differ when the new one never became ready).
- ``verify`` (:mod:`mlflows.ml.verify`) probes both URLs with held-out images and decides,
  against the previous revision and the model's own offline ``accuracy`` (promote's input);
  on rollback it marks the version rejected, so it is not the champion afterwards.
- ``promote-canary`` patches ``canaryTrafficPercent: 100`` and waits until the canary is the
  rolled-out revision; ``rollback`` patches it to 0 and waits until the ``latest`` target has no
  traffic (KServe's ``traffic`` lists it first). Both are JSON merge patches.
- ``rollout``'s outputs ``decision`` and ``reason`` say which and why.

The first model has no rolled-out revision yet: KServe gives it all the traffic, and then, as
rolled out, both tags; verify compares it with itself, so what judges its answers is its own
offline accuracy (``promote``'s input ``accuracy``, which every canary is checked against).
After the branches, ``served`` reads the service as the promotions left it (the replace
shape's ``serve`` would apply the versions directory over it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hera.workflows import Container, Parameter, Resource, Step, Steps
from hera.workflows import models as m

from mlflows.canary import PROMOTE, ROLLBACK
from mlflows.inference_service import ISVC_API_VERSION, inference_service_manifest
from mlflows.manifest import to_yaml
from mlflows.workloads import DATASET, OUTPUTS, SERVING

if TYPE_CHECKING:
    from mlflows.canary import Canary
    from mlflows.workloads import Workloads

TAG_ROUTING = "serving.kserve.io/enable-tag-routing"
PREDICTOR = "status.components.predictor"
# The rollout has settled: the new revision serves, or failed to load (the old one serves on).
SETTLED = "status.modelStatus.transitionStatus in (UpToDate,BlockedByFailedLoad)"
INVALID = "status.modelStatus.transitionStatus = InvalidSpec"
# KServe lists the latest revision's target first, the rolled-out one's (tag prev) second.
LATEST, PREVIOUS = 0, 1
DECISION = "{{steps.verify.outputs.parameters.decision}}"


class CanaryRollout:
    """The templates of a canary rollout for ``workloads``' service and volume."""

    def __init__(self, workloads: Workloads, canary: Canary):
        self.workloads, self.canary = workloads, canary

    def rollout_template(self) -> Steps:
        """canary → verify → promote-canary or rollback, for the published ``version`` of a
        model whose evaluate step measured ``accuracy``."""
        target = "{{steps.canary.outputs.parameters"
        canary, verify = self.canary_template(), self.verify_template()
        promote = self.traffic_template(
            "promote-canary",
            100,
            f"{PREDICTOR}.latestRolledoutRevision = {{{{inputs.parameters.revision}}}}",
            inputs=[Parameter(name="revision")],
        )
        rollback = self.traffic_template("rollback", 0, f"{PREDICTOR}.traffic.{LATEST}.percent = 0")
        with Steps(
            name="rollout",
            inputs=[Parameter(name="version"), Parameter(name="accuracy")],
            outputs=[
                Parameter(
                    name=name,
                    value_from=m.ValueFrom(
                        parameter=f"{{{{steps.verify.outputs.parameters.{name}}}}}"
                    ),
                )
                for name in ("decision", "reason")
            ],
        ) as rollout:
            Step(
                name="canary",
                template=canary,
                arguments={"version": "{{inputs.parameters.version}}"},
            )
            Step(
                name="verify",
                template=verify,
                arguments={
                    "version": "{{inputs.parameters.version}}",
                    "offline-accuracy": "{{inputs.parameters.accuracy}}",
                    **{name: f"{target}.{name}}}}}" for name in CANARY_OUTPUTS},
                },
            )
            with rollout.parallel():
                Step(
                    name="promote-canary",
                    template=promote,
                    when=f"{DECISION} == {PROMOTE}",
                    arguments={"revision": f"{target}.canary-revision}}}}"},
                )
                Step(name="rollback", template=rollback, when=f"{DECISION} == {ROLLBACK}")
        return rollout

    def service_manifest(self, storage_uri: str) -> dict:
        """The InferenceService as ``serve`` writes it, tag-routed, with the canary's percent."""
        w = self.workloads
        manifest = inference_service_manifest(
            name=w.service_name,
            storage_uri=storage_uri,
            service_account=w.accounts.workloads,
            autoscaling=w.autoscaling,
        )
        manifest["metadata"]["annotations"] = {TAG_ROUTING: "true"}
        manifest["spec"]["predictor"] = {
            "canaryTrafficPercent": self.canary.percent,
            **manifest["spec"]["predictor"],
        }
        return manifest

    def canary_template(self) -> Resource:
        w = self.workloads
        storage_uri = w.volume.storage_uri(f"{SERVING}/{{{{inputs.parameters.version}}}}")
        return Resource(
            name="canary",
            action="apply",
            manifest=to_yaml(self.service_manifest(storage_uri)),
            success_condition=SETTLED,
            failure_condition=INVALID,
            service_account_name=w.accounts.resources,
            inputs=[Parameter(name="version")],
            outputs=[
                Parameter(name=name, value_from=m.ValueFrom(json_path=path, default=""))
                for name, path in CANARY_OUTPUTS.items()
            ],
            retry_strategy=m.RetryStrategy(limit=2, retry_policy="OnError"),
        )

    def traffic_template(
        self, name: str, percent: int, success: str, inputs: list[Parameter] | None = None
    ) -> Resource:
        """A JSON merge patch of ``canaryTrafficPercent``, done once ``success`` holds."""
        w = self.workloads
        patch = {
            "apiVersion": ISVC_API_VERSION,
            "kind": "InferenceService",
            "metadata": {"name": w.service_name},
            "spec": {"predictor": {"canaryTrafficPercent": percent}},
        }
        return Resource(
            name=name,
            action="patch",
            merge_strategy="merge",
            manifest=to_yaml(patch),
            success_condition=success,
            service_account_name=w.accounts.resources,
            inputs=inputs,
            retry_strategy=m.RetryStrategy(limit=2, retry_policy="OnError"),
        )

    def verify_template(self) -> Container:
        w, limits = self.workloads, self.canary.thresholds
        version_dir = f"{w.versions_dir()}/{{{{inputs.parameters.version}}}}"
        return w.container(
            "verify",
            "mlflows.ml.verify",
            {
                "--canary-url": "{{inputs.parameters.canary-url}}",
                "--previous-url": "{{inputs.parameters.previous-url}}",
                "--canary-revision": "{{inputs.parameters.canary-revision}}",
                "--tagged-revision": "{{inputs.parameters.tagged-revision}}",
                "--model-name": w.service_name,
                "--dataset": DATASET,
                "--data-dir": w.data_dir(),
                "--version-dir": version_dir,
                "--offline-accuracy": "{{inputs.parameters.offline-accuracy}}",
                "--probes": str(self.canary.probes),
                "--max-error-rate": str(limits.max_error_rate),
                "--max-p99-latency-ms": str(limits.max_p99_latency_ms),
                "--max-accuracy-drop": str(limits.max_accuracy_drop),
                "--decision-file": f"{OUTPUTS}/decision",
                "--reason-file": f"{OUTPUTS}/reason",
            },
            inputs=[
                Parameter(name="version"),
                Parameter(name="offline-accuracy"),
                *(Parameter(name=n) for n in CANARY_OUTPUTS),
            ],
            outputs=[w.output("decision"), w.output("reason")],
        )

    def served_template(self) -> Resource:
        """Read the service: its URL and the revision rolled out."""
        w = self.workloads
        service = {
            "apiVersion": ISVC_API_VERSION,
            "kind": "InferenceService",
            "metadata": {"name": w.service_name},
        }
        return Resource(
            name="served",
            action="get",
            manifest=to_yaml(service),
            service_account_name=w.accounts.resources,
            outputs=[
                Parameter(name="url", value_from=m.ValueFrom(json_path="{.status.address.url}")),
                Parameter(
                    name="revision",
                    value_from=m.ValueFrom(json_path=f"{{.{PREDICTOR}.latestRolledoutRevision}}"),
                ),
            ],
        )


# The canary step's outputs (verify's inputs), read from the service's status.
CANARY_OUTPUTS = {
    "canary-url": f"{{.{PREDICTOR}.traffic[{LATEST}].url}}",
    "previous-url": f"{{.{PREDICTOR}.traffic[{PREVIOUS}].url}}",
    "canary-revision": f"{{.{PREDICTOR}.latestCreatedRevision}}",
    "tagged-revision": f"{{.{PREDICTOR}.traffic[{LATEST}].revisionName}}",
}
