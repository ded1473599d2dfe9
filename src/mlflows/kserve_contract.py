"""The InferenceGraph's contract as a JSON Schema, read from the kserve SDK's generated models.

KServe publishes no InferenceGraph CRD beside the InferenceService one we validate with, but its
Python SDK carries the OpenAPI models generated from the Go types
(``kserve.models.V1alpha1InferenceGraph`` and the classes it names): each lists its fields
(``attribute_map``: the JSON names) and their types (``openapi_types``: ``str``, ``int``,
``list[X]``, ``dict(str, X)``, another model). This turns them into a closed JSON Schema: every
field known, of its type; a field whose setter refuses ``None`` (the generator's mark of a
required one) is required. The Kubernetes types it names (affinity, resources, tolerations) are
only checked to be objects, and the object's ``metadata`` is left to the caller (ObjectMeta, as
for the CRDs): neither is KServe's.

Without the kserve SDK (``pip install mlflows`` without the ``serve`` extra) there is no schema:
:func:`inference_graph_schema` returns None.
"""

from __future__ import annotations

import functools
import re

GRAPH_API_VERSION = "serving.kserve.io/v1alpha1"
GRAPH_MODEL = "V1alpha1InferenceGraph"
SCALARS = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "float": {"type": "number"},
    "datetime": {"type": "string"},
    "date": {"type": "string"},
    "object": {},
}
LIST = re.compile(r"list\[(.+)\]")
DICT = re.compile(r"dict\(str, (.+)\)")


def _model_class(name: str):
    """KServe's generated model ``name``; None if it has none."""
    import kserve.models as kserve_models

    return getattr(kserve_models, name, None)


def _required(cls) -> list[str]:
    """The JSON names of the fields whose generated setter refuses None."""
    from kserve.configuration import Configuration

    probe = cls.__new__(cls)
    probe.local_vars_configuration = Configuration()
    probe.local_vars_configuration.client_side_validation = True
    required = []
    for attribute, json_name in cls.attribute_map.items():
        try:
            setattr(probe, attribute, None)
        except ValueError:
            required.append(json_name)
    return required


def _type_schema(type_name: str, definitions: dict) -> dict:
    if type_name in SCALARS:
        return dict(SCALARS[type_name])
    if match := LIST.fullmatch(type_name):
        return {"type": "array", "items": _type_schema(match.group(1), definitions)}
    if match := DICT.fullmatch(type_name):
        return {
            "type": "object",
            "additionalProperties": _type_schema(match.group(1), definitions),
        }
    cls = _model_class(type_name)
    if cls is None:  # a Kubernetes type, or one of the Knative status types KServe names
        return {"type": "object"} if type_name.startswith("V1") else {}
    if type_name not in definitions:
        definitions[type_name] = {}  # placed first: a model may name itself
        definitions[type_name] = _object_schema(cls, definitions)
    return {"$ref": f"#/$defs/{type_name}"}


def _object_schema(cls, definitions: dict) -> dict:
    schema = {
        "type": "object",
        "properties": {
            cls.attribute_map[attribute]: _type_schema(type_name, definitions)
            for attribute, type_name in cls.openapi_types.items()
        },
        "additionalProperties": False,
    }
    if required := _required(cls):
        schema["required"] = required
    return schema


@functools.cache
def _schema() -> dict | None:
    try:
        cls = _model_class(GRAPH_MODEL)
    except ImportError:
        return None
    definitions: dict = {}
    schema = _object_schema(cls, definitions)
    schema["$defs"] = definitions
    return schema


def inference_graph_schema() -> dict | None:
    """A closed JSON Schema of an InferenceGraph (a fresh copy), or None without the kserve SDK."""
    import copy

    return copy.deepcopy(_schema())
