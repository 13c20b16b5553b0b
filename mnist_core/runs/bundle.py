"""The two bundled readers of drawings, trained as the protocol says (mnist_core.drawings.protocol):

1. on the train part, from scratch: the image reader (MNIST plus drawings whose real pen digits and
   letters are both collections' train part; no generated digit styles, no earlier weights) and the
   pen reader;
2. on the choose part (both collections' digits and letters, each drawn on the canvas once): the image
   reader's own withhold threshold (for photos and uploads), the combiner's weight and threshold, and
   the pen reader's own threshold;
3. with every choice frozen, both retrained from scratch on train + choose, with the same recipes and
   seeds, and saved carrying the choices.

    nice -n 10 python -m mnist_core.runs.bundle --work /tmp/bundle

Each step's result is kept in --work, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mnist_core.drawings import penreader

IMAGE_ARCH = "cnn_best"
# #17's network (40 filters, the convolutions straight to the output), trained from scratch with
# the learning rate and augmentation of the run #17 continued from, for 15 epochs (not its 18: the time).
IMAGE_HPARAMS = {"filters": 40, "conv_layers": 3, "hidden_units": 0, "dropout": 0.25, "learning_rate": 0.01,
                 "augment": 0.6, "label_smoothing": 0.0}
IMAGE_EPOCHS, IMAGE_DRAWINGS, IMAGE_BATCH, IMAGE_VALIDATION = 15, 45_000, 128, 0.1
PEN_EPOCHS, PEN_COPIES = 20, 4
SEED = 0
COMMAND = "python -m mnist_core.runs.bundle"


def train_image_reader(parts, data, log=print):
    """The image reader trained from scratch on MNIST plus drawings from the protocol's `parts`."""
    from mnist_core import training
    from mnist_core.runs.runspec import RunSpec

    def show(progress):
        if progress.kind == "epoch":
            log(f"image reader on {'+'.join(parts)}: epoch {progress.epoch}/{progress.epochs} "
                f"accuracy {progress.accuracy:.4f} val_accuracy {progress.val_accuracy or 0:.4f} "
                f"({progress.elapsed:.0f} s)")

    spec = RunSpec.preset(IMAGE_ARCH, dict(IMAGE_HPARAMS), seed=SEED, drawings=IMAGE_DRAWINGS,
                          epochs=IMAGE_EPOCHS, batch_size=IMAGE_BATCH, validation_split=IMAGE_VALIDATION)
    return training.run(spec.validated(), data, on_progress=show, drawing_parts=tuple(parts),
                        name=f"{IMAGE_ARCH} ({IMAGE_EPOCHS} epochs)", source=f"trained with `{COMMAND}`")


def choose(image_predictor, pen_model) -> dict:
    """Every choice, made on the choose part's digits and letters (both collections)."""
    from mnist_core.predict import choose_threshold
    chosen = {kind: penreader.drawn("choose", kind) for kind in ("digits", "letters")}
    image_p = np.concatenate([image_predictor.predict_proba(chosen[k]["images"]) for k in chosen])
    pen_p = np.concatenate([pen_model.predict(chosen[k]["features"], verbose=0) for k in chosen])
    labels = np.concatenate([chosen[k]["labels"] for k in chosen])
    weight, threshold, cost = penreader.choose_combiner(image_p, pen_p, labels)
    image_alone, pen_alone = choose_threshold(image_p, labels), choose_threshold(pen_p, labels)
    digits = labels < 10
    return {"image_weight": weight, "withhold_below": threshold, "choose_errors": cost,
            "image_withhold_below": image_alone, "pen_withhold_below": pen_alone,
            "choose_errors_image_alone": penreader.errors(image_p, labels, image_alone),
            "choose_errors_pen_alone": penreader.errors(pen_p, labels, pen_alone),
            "choose_image_argmax": float((image_p[digits].argmax(1) == labels[digits]).mean()),
            "choose_pen_argmax": float((pen_p[digits].argmax(1) == labels[digits]).mean()),
            "choose_digits": int(digits.sum()), "choose_letters": int((~digits).sum())}


def main(argv=None):
    """Train both readers on train, choose on choose, retrain both on train + choose and save them."""
    import argparse

    from mnist_core import storage
    from mnist_core.data import load_mnist
    from mnist_core.predict import Predictor
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--work", required=True, help="a folder for each step's result (resumable)")
    parser.add_argument("--data", default=None, help="MNIST's folder (default: MNIST_DATA, then download)")
    parser.add_argument("--out", default=str(storage.MODELS), help="where the two bundled files go")
    args = parser.parse_args(argv)
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    recipe = json.dumps({"image": [IMAGE_ARCH, IMAGE_HPARAMS, IMAGE_EPOCHS, IMAGE_DRAWINGS, IMAGE_BATCH,
                                   IMAGE_VALIDATION], "pen": [PEN_EPOCHS, PEN_COPIES], "seed": SEED}, sort_keys=True)
    if (work / "recipe.json").exists() and (work / "recipe.json").read_text() != recipe:
        parser.error(f"{work} holds the steps of another recipe: give an empty folder")
    (work / "recipe.json").write_text(recipe)
    data = load_mnist(args.data)

    def log(line):
        print(line, flush=True)
        with open(work / "log.txt", "a", encoding="utf-8") as file:
            file.write(line + "\n")

    def image_reader(parts, path):
        if not path.exists():
            trained = train_image_reader(parts, data, log)
            log(f"image reader on {'+'.join(parts)}: {trained.result.seconds:.0f} s, "
                f"MNIST test accuracy {trained.report.accuracy:.4f}")
            storage.save_model(trained.model, path, trained.metadata)
        return storage.load_model(path)

    def pen_reader(parts, path):
        if not path.exists():
            model, seconds = penreader.train(list(parts), epochs=PEN_EPOCHS, copies=PEN_COPIES, seed=SEED)
            log(f"pen reader on {'+'.join(parts)}: {seconds:.0f} s")
            bare = penreader.build_model()            # the weights only: no optimizer state in the file
            bare.set_weights(model.get_weights())
            storage.save_model(bare, path, {"name": "pen reader", "seconds": round(seconds, 1)})
        return storage.load_model(path)

    choice_file = work / "choice.json"
    if not choice_file.exists():
        image, _ = image_reader(("train",), work / "image-train.keras")
        pen, _ = pen_reader(("train",), work / "pen-train.keras")
        choice_file.write_text(json.dumps(choose(Predictor(image, shared_slots=False), pen), indent=1))
    choice = json.loads(choice_file.read_text())
    log(json.dumps(choice))
    final_parts = ("train", "choose")
    image, metadata = image_reader(final_parts, work / "image-final.keras")
    pen, pen_metadata = pen_reader(final_parts, work / "pen-final.keras")
    frozen = {"trained_on": list(final_parts), "chosen_on": "choose", "choice": choice,
              "source": f"trained with `{COMMAND}` (every choice made on the choose part, then "
                        "retrained on train + choose)"}
    storage.save_model(image, out / "default.keras", {
        **metadata, **frozen, "withhold_below": choice["image_withhold_below"], "name": "best reader"})
    storage.save_model(pen, out / "pen-reader.keras", {
        "name": "pen reader", "epochs": PEN_EPOCHS, "copies": PEN_COPIES, "seed": SEED, **frozen,
        "image_weight": choice["image_weight"], "withhold_below": choice["withhold_below"],
        "pen_withhold_below": choice["pen_withhold_below"], "train_seconds": pen_metadata.get("seconds")})
    log(f"saved {out / 'default.keras'} and {out / 'pen-reader.keras'}")


if __name__ == "__main__":
    main()
