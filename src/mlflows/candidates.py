"""What a loop's item tells ``select`` about its model: the ``branch`` template's output
parameters, which Argo aggregates over the items that succeeded (``{{tasks.branches.outputs.
parameters}}``: one ``{name: value}`` map per item) and ``select best --candidates-json``
reads back. One place for their names, which the workflow and the entry point must agree on."""

MODEL_DIR = "model-dir"  # the trained model's folder (content-addressed: models/<key>)
ACCURACY = "accuracy"  # its accuracy on the test split, as the item's evaluate step measured it
