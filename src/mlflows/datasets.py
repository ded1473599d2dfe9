"""The datasets a pipeline can ingest, with the version each one is pinned to.

The version is part of the ingestion memo key, so a new dataset version is a cache miss.
"""

from __future__ import annotations

from mlflows.errors import UserError

DATASET_VERSIONS = {
    "fashion_mnist": "3.0.1",  # tensorflow-datasets
    "mnist": "3.0.1",  # tensorflow-datasets
    "digits": "1.0.0",  # scikit-learn's bundled 8x8 digits resized to 28x28: needs no internet
}


def dataset_version(name: str) -> str:
    if name not in DATASET_VERSIONS:
        raise UserError(f"dataset: unknown dataset {name!r}; known: {', '.join(DATASET_VERSIONS)}")
    return DATASET_VERSIONS[name]
