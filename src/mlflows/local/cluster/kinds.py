"""The kinds the Kubernetes stand-in knows, without starting it: the ones its operators run and
the ones nothing here would run.

Light on purpose: :mod:`mlflows.local.cluster.apply` and the up-front checks read them for every
run, while the operators (:mod:`mlflows.local.cluster.tfjob`, :mod:`mlflows.local.cluster.kserve`)
are imported only when a resource template runs.
"""

from __future__ import annotations

from mlflows.kserve_contract import GRAPH_API_VERSION

TFJOB = ("kubeflow.org", "TFJob")
INFERENCE_SERVICE = ("serving.kserve.io", "InferenceService")
INFERENCE_GRAPH = ("serving.kserve.io", "InferenceGraph")
OPERATED_VERSIONS = {
    TFJOB: "kubeflow.org/v1",
    INFERENCE_SERVICE: "serving.kserve.io/v1beta1",
    INFERENCE_GRAPH: GRAPH_API_VERSION,
}
_NO_CONTROLLER = "it needs Kubernetes' controllers; use a container template"
_NO_KSERVE = "only InferenceService and InferenceGraph have a local KServe controller"
# (API group, kind or "*") -> why it cannot mean anything here
NEEDS_A_CONTROLLER = {
    ("", "Pod"): "pods need a kubelet; use a container template",
    ("", "ReplicationController"): _NO_CONTROLLER,
    ("apps", "*"): _NO_CONTROLLER,
    ("batch", "*"): _NO_CONTROLLER,
    ("kubeflow.org", "*"): "only TFJob has a local training operator",
    ("serving.kserve.io", "TrainedModel"): _NO_KSERVE,
    ("serving.kserve.io", "LLMInferenceService"): _NO_KSERVE,
    ("serving.knative.dev", "*"): "Knative is not installed here",
    ("argoproj.io", "Workflow"): "it needs the Argo controller; call its templates instead",
    ("argoproj.io", "CronWorkflow"): "it needs the Argo controller",
}
