"""The model architectures, in a registry keyed by ``--model-type``.

The three are the book's: a small CNN, the same with dropout, and one with batch
normalization. Adding a model is one function returning its layers and one ``MODELS`` entry;
:func:`build` adds the input, compiles it, and is the only place that imports Keras (tf-keras,
see :mod:`mlflows.ml`), so looking a name up costs nothing.
"""

from __future__ import annotations

from mlflows.errors import UserError
from mlflows.ml.datasets import IMAGE_SHAPE, NUM_CLASSES


def _conv_pool(layers, filters: int) -> list:
    return [layers.Conv2D(filters, 3, activation="relu"), layers.MaxPooling2D()]


def _conv_norm_pool(layers, filters: int) -> list:
    # As in the book: normalize the convolution's output, then a sigmoid activation. Momentum
    # 0.9, not Keras' 0.99: the moving statistics used at inference must settle within a
    # pipeline's short runs (at 0.99 they still hold mostly their initial values after 100
    # steps, and test accuracy stays near chance while training accuracy is high).
    return [
        layers.Conv2D(filters, 3),
        layers.BatchNormalization(momentum=0.9),
        layers.Activation("sigmoid"),
        layers.MaxPooling2D(),
    ]


def _classifier(layers, dropout_rate: float = 0.0) -> list:
    regularize = [layers.Dropout(dropout_rate)] if dropout_rate else []
    return [
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        *regularize,
        layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
    ]


def cnn(layers) -> list:
    return [*_conv_pool(layers, 32), *_conv_pool(layers, 64), *_classifier(layers)]


def dropout(layers) -> list:
    return [*_conv_pool(layers, 32), *_conv_pool(layers, 64), *_classifier(layers, 0.5)]


def batch_norm(layers) -> list:
    return [*_conv_norm_pool(layers, 32), *_conv_norm_pool(layers, 64), *_classifier(layers)]


MODELS = {"cnn": cnn, "dropout": dropout, "batch_norm": batch_norm}


def check_model_type(name: str) -> str:
    if name not in MODELS:
        raise UserError(f"--model-type: unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return name


def build(name: str, learning_rate: float):
    """The compiled model: 28x28x1 images in [0, 1] in, class probabilities out.

    Call inside the distribution strategy's scope, so its variables are mirrored.
    """
    import tf_keras

    layers = MODELS[check_model_type(name)](tf_keras.layers)
    model = tf_keras.Sequential([tf_keras.Input(IMAGE_SHAPE, name="image"), *layers], name=name)
    model.compile(
        optimizer=tf_keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
