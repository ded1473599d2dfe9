"""A loaded SavedModel and its two ways in: encoded images and raw image arrays.

Used by evaluation (raw arrays), the model server and the benchmarks, so all of them run the
very signatures TF Serving would. :func:`decode` is the encoded signature's first half on its
own, for a server that decodes requests apart and batches the pixels.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from mlflows.errors import UserError
from mlflows.ml import export
from mlflows.ml.datasets import IMAGE_SHAPE
from mlflows.ml.quiet import tensorflow

UNDECODABLE = "not an image; send PNG, JPEG, GIF or BMP file bytes"


@functools.cache
def _decoder():
    tf = tensorflow()
    return tf.function(export.decode_images, input_signature=[tf.TensorSpec([None], tf.string)])


def decode(encoded: list[bytes]) -> np.ndarray:
    """N x 28 x 28 x 1 floats in [0, 1], the pixels the encoded signature feeds its model.

    ``ValueError`` if one of the files won't decode.
    """
    tf = tensorflow()

    try:
        return _decoder()(tf.constant(encoded, tf.string)).numpy()
    except tf.errors.InvalidArgumentError:
        raise ValueError(UNDECODABLE) from None


def is_saved_model(path: str | Path) -> bool:
    path = Path(path)
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


class Predictor:
    """Class probabilities from a SavedModel written by :func:`mlflows.ml.export.save`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not is_saved_model(self.path):
            raise UserError(f"model {self.path}: not a SavedModel (no saved_model.pb in it)")
        try:
            loaded = tensorflow().saved_model.load(str(self.path))
        except Exception as err:  # corrupt or incompatible files; the cause goes in the line
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise UserError(f"model {self.path}: cannot load it ({reason})") from None
        missing = {export.ENCODED_SIGNATURE, export.RAW_SIGNATURE} - set(loaded.signatures)
        if missing:
            raise UserError(
                f"model {self.path}: lacks signature(s) {', '.join(sorted(missing))}; "
                "save it with mlflows.ml.export.save"
            )
        self._loaded = loaded  # the signatures reference its variables: keep it alive
        self._encoded = loaded.signatures[export.ENCODED_SIGNATURE]
        self._raw = loaded.signatures[export.RAW_SIGNATURE]

    def warm_up(self) -> None:
        """Answer a blank image once, so that the first requests do not wait for TensorFlow's
        tracing; ``UserError`` if the model cannot answer it."""
        tf = tensorflow()

        blank = np.zeros((1, *IMAGE_SHAPE), np.float32)
        try:
            self.from_arrays(blank)
        except Exception as err:  # an input or output other than the export's
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise UserError(f"model {self.path}: cannot answer a blank image ({reason})") from None
        decode([tf.io.encode_png(blank[0].astype(np.uint8)).numpy()])

    def from_arrays(self, images) -> np.ndarray:
        """``images``: N x 28 x 28 x 1 floats in [0, 1] (array or tensor)."""
        tf = tensorflow()

        batch = tf.convert_to_tensor(images, dtype=tf.float32)
        return self._raw(**{export.RAW_INPUT: batch})[export.OUTPUT].numpy()

    def from_encoded(self, encoded: list[bytes]) -> np.ndarray:
        """``encoded``: PNG/JPEG/GIF/BMP file contents; ``ValueError`` if one won't decode."""
        tf = tensorflow()

        try:
            result = self._encoded(**{export.ENCODED_INPUT: tf.constant(encoded, tf.string)})
        except tf.errors.InvalidArgumentError:
            raise ValueError(f"an image is {UNDECODABLE}") from None
        return result[export.OUTPUT].numpy()
