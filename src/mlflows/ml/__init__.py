"""The TensorFlow workloads that run inside the pipeline's containers.

Entry points (``python -m mlflows.ml.<module>``): ``ingest``, ``train``, ``select``, ``serve``,
``client``, ``load_test``; their flags are the contract in ``docs/architecture.md``.

Every entry point imports this package first, so the environment TensorFlow reads at import
time is set here, once, before any module imports TensorFlow:

* ``TF_USE_LEGACY_KERAS=1``: Keras 3 cannot train under ``MultiWorkerMirroredStrategy`` (``fit``
  fails converting a ``PerReplica``); tf-keras can, so all model code imports ``tf_keras``.
* ``TF_CPP_MIN_LOG_LEVEL=2``: keeps TensorFlow's C++ info and warnings out of the steps' logs,
  so what an entry point prints is what it did; the start-up lines that ignore it are held back
  by :mod:`mlflows.ml.quiet`, through which every module gets TensorFlow. Set it to 0 to see
  everything.

Both are defaults: a value already in the environment wins.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
