"""The trained model as a servable SavedModel, saved the way multi-worker training requires.

Signatures (the same whether TF Serving, KServe's tensorflow runtime or ``mlflows.ml.serve``
serves it):

* ``serving_default``: ``image_bytes`` — a batch of encoded images (PNG, JPEG, GIF or BMP; the
  REST form sends them as ``{"b64": ...}``), decoded to grayscale and resized to 28x28 in the
  graph — to ``probabilities`` (batch x 10).
* ``serving_raw``: ``image`` — a batch of 28x28x1 float32 images in [0, 1] — to
  ``probabilities``.

Beside the SavedModel's files, ``mlflows-model.json`` lists them: saving replaces the directory
whole, so a later save may replace a directory only if it is empty or holds what that list names
(:func:`saved_here`), never a directory of someone's other files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mlflows.ml import files
from mlflows.ml.cluster import Role
from mlflows.ml.datasets import IMAGE_SHAPE
from mlflows.ml.quiet import tensorflow

ENCODED_SIGNATURE = "serving_default"
RAW_SIGNATURE = "serving_raw"
ENCODED_INPUT = "image_bytes"
RAW_INPUT = "image"
OUTPUT = "probabilities"
MARKER = "mlflows-model.json"


def decode_image(encoded):
    """One encoded image to a 28x28x1 float32 tensor in [0, 1]."""
    tf = tensorflow()

    image = tf.io.decode_image(encoded, channels=1, expand_animations=False)
    # Resizing a 28x28 image to 28x28 returns its pixels unchanged, so the two signatures agree.
    return tf.image.resize(image, IMAGE_SHAPE[:2]) / 255.0


def decode_images(image_bytes):
    """A batch of encoded images to N x 28 x 28 x 1 float32 in [0, 1], as the model decodes them."""
    tf = tensorflow()

    return tf.map_fn(
        decode_image, image_bytes, fn_output_signature=tf.TensorSpec(IMAGE_SHAPE, tf.float32)
    )


def serving_signatures(model) -> dict:
    tf = tensorflow()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=ENCODED_INPUT)])
    def predict_encoded(image_bytes):
        return {OUTPUT: model(decode_images(image_bytes), training=False)}

    @tf.function(input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.float32, name=RAW_INPUT)])
    def predict_raw(image):
        return {OUTPUT: model(image, training=False)}

    return {ENCODED_SIGNATURE: predict_encoded, RAW_SIGNATURE: predict_raw}


def saved_here(path: Path) -> bool:
    """Whether ``path`` holds a model :func:`save` wrote and nothing else besides."""
    try:
        listed = json.loads((path / MARKER).read_text())["entries"]
        return {entry.name for entry in path.iterdir()} <= {MARKER, *listed}
    except (OSError, ValueError, KeyError, TypeError):  # no marker, or not one we wrote
        return False


def _mark(saved_model_dir: Path) -> None:
    entries = sorted(entry.name for entry in saved_model_dir.iterdir())
    files.write_json(saved_model_dir / MARKER, {"saved_by": __name__, "entries": entries})


def save(model, saved_model_dir: str | Path, role: Role) -> None:
    """Save on every worker: the chief publishes ``saved_model_dir``, the others throw theirs away.

    Under MultiWorkerMirroredStrategy saving runs collective ops, so every worker must save;
    if only the chief did, it would wait on the others forever or fail once they have exited.
    Each worker writes into its own hidden directory beside ``saved_model_dir``; the chief's
    replaces ``saved_model_dir`` in one rename, so a half-written model is never visible.
    """
    tf = tensorflow()

    staging = files.staging_dir(saved_model_dir)
    try:
        tf.saved_model.save(model, str(staging), signatures=serving_signatures(model))
        if role.is_chief:
            _mark(staging)
            files.replace_dir(staging, saved_model_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
