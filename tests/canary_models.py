"""Real SavedModels for the canary tests, made in a subprocess (TensorFlow stays out of pytest).

``python tests/canary_models.py OUT [--data-dir DIR --epochs N]`` writes, with the ML entry
points' own exporter:

- without a data dir: ``plain`` (an untrained cnn) and ``shifted`` (the same model whose class
  ``c`` comes out as ``c + 1``): any image gets different classes from the two, so an answer
  says which one gave it;
- with ``--data-dir`` (digits ingested there): a cnn trained on it, exported as ``good-1``
  (classes 0/1 and 2/3 swapped: worse, but the same offline and served), ``good-2`` (0/1
  swapped) and ``broken``: the trained weights as they are, so offline (``serving_raw``, which
  evaluation uses) it is the best of the three, but its ``serving_default`` signature, the one
  that decodes the image files a server is sent, inverts the pixels: a preprocessing mismatch
  only serving shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _permuted(model, order):
    """A copy of ``model`` whose output column ``i`` is the original's ``order[i]``."""
    import tf_keras

    copy = tf_keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    kernel, bias = copy.layers[-1].get_weights()
    copy.layers[-1].set_weights([kernel[:, order], bias[order]])
    return copy


def _swapped(model, pairs: list[tuple[int, int]]):
    order = list(range(10))
    for a, b in pairs:
        order[a], order[b] = order[b], order[a]
    return _permuted(model, order)


def _save_inverting(model, path: Path) -> None:
    """``export.save``, but the encoded signature feeds the model inverted pixels."""
    from mlflows.ml import export
    from mlflows.ml.cluster import ONE_WORKER
    from mlflows.ml.quiet import tensorflow

    tf = tensorflow()
    signatures = export.serving_signatures(model)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=export.ENCODED_INPUT)])
    def mismatched(image_bytes):
        return {export.OUTPUT: model(1.0 - export.decode_images(image_bytes), training=False)}

    original = export.serving_signatures
    export.serving_signatures = lambda _: {**signatures, export.ENCODED_SIGNATURE: mismatched}
    try:
        export.save(model, path, ONE_WORKER)
    finally:
        export.serving_signatures = original


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    from mlflows.ml import digits, export, models
    from mlflows.ml.cluster import ONE_WORKER

    model = models.build("cnn", 3e-3)
    if args.data_dir is None:
        export.save(model, args.out / "plain", ONE_WORKER)
        export.save(_permuted(model, [9, *range(9)]), args.out / "shifted", ONE_WORKER)
        return
    images, labels = digits.load(args.data_dir, "train")
    model.fit(images / 255.0, labels, epochs=args.epochs, batch_size=32, verbose=0)
    export.save(_swapped(model, [(0, 1), (2, 3)]), args.out / "good-1", ONE_WORKER)
    export.save(_swapped(model, [(0, 1)]), args.out / "good-2", ONE_WORKER)
    _save_inverting(model, args.out / "broken")


if __name__ == "__main__":
    main()
