"""Parameters read from ConfigMaps (``valueFrom.configMapKeyRef``), as Argo's controller reads
them: workflow/common/configmap.go ``GetConfigMapValue``, util.go
``substituteAndGetConfigMapValue`` (inputs) and operator.go ``setGlobalParameters``
(``spec.arguments``).

The controller's informer watches only ConfigMaps labelled ``workflows.argoproj.io/configmap-type``,
so one without that label does not exist for it; one labelled with another value than
``Parameter`` is an error. A missing ConfigMap or key takes ``valueFrom.default`` when there is
one, and only then.

- ``spec.arguments.parameters``: read before the run; a ``value`` (or ``-p``) wins over the
  ConfigMap. Missing with no default is refused then, in one line.
- ``inputs.parameters``: read when the template is invoked, unless its call supplies a value; the
  name and key may use ``{{workflow...}}``. Refused before the run when a call would read a
  ConfigMap that is not there — unless a resource template of the run could create it.

ConfigMaps live in the run's object store: those given with ``--apply`` and those that resource
templates create. They are read as they are when the parameter is bound.
"""

from __future__ import annotations

from mlflows.errors import UserError
from mlflows.local.cluster.objects import ObjectKey, ObjectStore, parse_templated_manifest
from mlflows.local.lang.templating import TAG, Scope, argo_string, substitute

LABEL = "workflows.argoproj.io/configmap-type"
PARAMETER = "Parameter"
VALUE_FROM_RUN = {"configMapKeyRef", "default"}
KEY_REF_RUN = {"name", "key"}
KEY_REF_IGNORED = {"optional"}  # a Kubernetes selector field Argo does not read
WRITES = {"create", "apply", "replace", "patch"}


class Missing(LookupError):
    """Argo's NotFound: the ConfigMap or key is not there (valueFrom.default may stand in)."""


class Unusable(ValueError):
    """A ConfigMap that is there but may not give parameters (no default stands in)."""


def config_map_value(objects: ObjectStore, namespace: str, name: str, key: str) -> str:
    """The value at ``key``; Missing or Unusable with Argo's messages."""
    unseen = (
        f"ConfigMap '{name}' does not exist. Please make sure it has the label {LABEL}: "
        f"{PARAMETER} to be detectable by the controller"
    )
    where = ObjectKey("", "ConfigMap", namespace, name)
    if where not in objects:
        raise Missing(unseen)
    config_map = objects.get(where)
    labels = (config_map.get("metadata") or {}).get("labels") or {}
    if LABEL not in labels:
        raise Missing(unseen)
    if labels[LABEL] != PARAMETER:
        raise Unusable(
            f"ConfigMap '{name}' needs to have the label {LABEL}: {PARAMETER} to load parameters"
        )
    data = config_map.get("data") or {}
    if key not in data:
        raise Missing(f"ConfigMap '{name}' does not have the key '{key}'")
    return str(data[key])


class ConfigMaps:
    """The run's ConfigMaps, as parameters read them."""

    def __init__(self, objects: ObjectStore, namespace: str):
        self.objects = objects
        self.namespace = namespace
        self.created_during_run = False  # set by expect_writers

    def expect_writers(self, templates: list[dict]) -> None:
        """Note whether a resource template might create or change a ConfigMap: then one that is
        missing now may be there when a step reads it, and is not refused before the run."""
        for template in templates:
            resource = template.get("resource") or {}
            if resource.get("action") not in WRITES:
                continue
            try:
                kind = parse_templated_manifest(resource.get("manifest") or "").get("kind")
            except UserError:
                continue  # the resource check refuses it
            if kind == "ConfigMap" or (isinstance(kind, str) and TAG.search(kind)):
                self.created_during_run = True

    def argument_values(self, parameters: list[dict], given: set[str]) -> dict[str, str]:
        """``spec.arguments.parameters`` read from ConfigMaps (those without a value, not given
        with -p); UserError (one line) for one that is missing and has no default."""
        values = {}
        for param in parameters:
            name, value_from = param["name"], param.get("valueFrom")
            if value_from is None or param.get("value") is not None or name in given:
                continue
            ref = value_from["configMapKeyRef"]
            try:
                values[name] = config_map_value(
                    self.objects, self.namespace, ref["name"], ref["key"]
                )
            except Unusable as unusable:
                raise UserError(f"spec.arguments.parameters[{name}]: {unusable}") from None
            except Missing as missing:
                if value_from.get("default") is None:
                    raise UserError(
                        f"spec.arguments.parameters[{name}]: {missing}; give the ConfigMap with "
                        f"--apply, a valueFrom.default, or -p {name}=VALUE"
                    ) from None
                values[name] = argo_string(value_from["default"])
        return values

    def check_input(self, where: str, template_name: str, param: dict) -> None:
        """Before the run: refuse an input that a call leaves to a ConfigMap that cannot give it."""
        value_from = param["valueFrom"]
        ref = value_from["configMapKeyRef"]
        if self.created_during_run or TAG.search(ref["name"]) or TAG.search(ref["key"]):
            return  # known only when the template runs
        here = f"{where}: inputs.parameters.{param['name']} of template {template_name}"
        try:
            config_map_value(self.objects, self.namespace, ref["name"], ref["key"])
        except Unusable as unusable:
            raise UserError(f"{here}: {unusable}") from None
        except Missing as missing:
            if value_from.get("default") is None:
                raise UserError(
                    f"{here}: {missing}; give the ConfigMap with --apply or add valueFrom.default"
                ) from None

    def input_value(self, name: str, value_from: dict, scope: Scope) -> str:
        """An input parameter's value when its template is invoked (substituteAndGetConfigMapValue);
        UserError with Argo's message, which ends the node Error."""
        ref = value_from["configMapKeyRef"]
        config_map, key = (substitute(ref[field], scope) for field in ("name", "key"))
        try:
            return config_map_value(self.objects, self.namespace, config_map, key)
        except Unusable as unusable:
            raise UserError(
                f"unable to retrieve inputs.parameters.{name} from ConfigMap: {unusable}"
            ) from None
        except Missing as missing:
            if value_from.get("default") is None:
                raise UserError(
                    f"unable to retrieve inputs.parameters.{name} from ConfigMap: {missing}"
                ) from None
            return argo_string(value_from["default"])
