"""A learner's run, taken home: the same Keras script the Train page shows, as a notebook with a
heading in the visitor's language before each step. Running it reproduces the run (same
hyperparameters and seed, plain Keras, MNIST from keras.datasets)."""

from __future__ import annotations

import nbformat

from studio.ui.i18n import t

# Which step a block of the generated script is, by how it starts.
SECTIONS = [("import keras", "import"), ("keras.utils.set_random_seed", "seed"),
            ("(train_images", "data"), ("model = keras.Sequential", "network"),
            ("model.compile", "compile"), ("model.fit", "fit"), ("test_loss", "evaluate"),
            ("# The tutorial's last step", "predict")]


def notebook_bytes(name: str, arch: str, hparams: dict, *, epochs: int, batch_size: int,
                   validation_split: float, seed: int | None) -> bytes:
    from mnist_core.networks.script import keras_code
    script = keras_code(arch, hparams, epochs=epochs, batch_size=batch_size,
                        validation_split=validation_split, seed=seed)
    cells = [nbformat.v4.new_markdown_cell(f"# {name}\n\n" + t("notebook.intro", epochs=epochs,
                                                                  batch=batch_size, seed=seed))]
    for block in filter(None, (part.strip("\n") for part in script.split("\n\n"))):
        section = next((s for start, s in SECTIONS if block.startswith(start)), None)
        if section:
            cells.append(nbformat.v4.new_markdown_cell("## " + t(f"notebook.{section}")))
        cells.append(nbformat.v4.new_code_cell(block))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.validate(notebook)
    return nbformat.writes(notebook).encode("utf-8")
