"""`--only drawn`: what Predict says about real people's drawings — both collections' held-out parts
(mnist_core/drawings/protocol.py), read by the image reader alone, the pen reader alone and both (the
page's answer), per writer and site, median and pooled — about non-digits (kinds the training data
teaches as "not a digit" and kinds it never saw, apart), the same digit four ways, the older readers
beside the image reader, and the best reader's accuracy, the bundled files' size and speed.

Every held-out drawing goes to mnist_core.predict.read_canvas as the canvas hands it over (its RGBA
image and json_data, canvas.returned), with the bundled best reader and the pen reader; the same call
reports each reader's own probabilities, so one pass gives the three answers: the image reader alone
withheld below its own threshold, the pen reader alone below the threshold chosen for it on the choose
part, and both."""

from __future__ import annotations

import subprocess

import numpy as np

from bench.sections import ROOT, data
from bench.sections.predict import baselines, predictor_speed
from bench.table import collector

BEFORE_17 = "8e16730"   # the last commit whose models/default.keras was trained on generated drawings only
BEFORE_29 = "f12c106"   # the last commit whose models/default.keras continued #17's (one collection, no letters)


def said_by(predictor, images) -> np.ndarray:
    """What the Predict page says for each prepared 28x28 image: the digit, or -1 when it withholds."""
    return np.array([-1 if (r := predictor.read(image)).digit is None else r.digit for image in images])


def shares(said, labels) -> tuple[float, float, float]:
    """(named right, withheld, named wrong) as the page says it."""
    right, withheld = float((said == labels).mean()), float((said == -1).mean())
    return right, withheld, float(((said != labels) & (said != -1)).mean())


TARGET = "named right >= 97 %, withheld <= 2 %, named wrong <= 1 %"
HAND_SEEN_EXTRA = {"zigzag"}     # strokes.scribble draws zigzags; the rest are named in strokes.LETTERS


def met(figures) -> bool:
    return figures[0] >= 0.97 and figures[1] <= 0.02 and figures[2] <= 0.01


def shown(figures) -> str:
    return "named right {:.1%} · withheld {:.1%} · named wrong {:.1%}".format(*figures)


def said(drawings, image_reader, pen) -> dict[str, np.ndarray]:
    """drawings: [(strokes, brush)] -> what each way of reading says: the digit, or -1 (withheld)."""
    from mnist_core.drawings.canvas import returned
    from mnist_core.predict import Reading, read_canvas
    found = {"image": [], "pen": [], "both": []}
    threshold = pen.pen_withhold_below
    for strokes, brush in drawings:
        reading = read_canvas(*returned(strokes, brush), image_reader, pen)
        alone = {"image": Reading(reading.readers["image"], reading.image, image_reader.withhold_below),
                 "pen": Reading(reading.readers["pen"], reading.image, threshold), "both": reading}
        for name, r in alone.items():
            found[name].append(-1 if r.digit is None else r.digit)
    return {name: np.array(values) for name, values in found.items()}


def pen_rows(row, image_reader, pen, non_digits: int) -> None:
    """The rows (row(target, measured, baseline, verdict)) for both collections and the non-digits."""
    from bench import heldout
    from mnist_core.drawings import penreader, protocol, strokes
    pooled_parts = {}
    for collection, group_name in (("pendigits", "writer"), ("unipen", "site")):
        drawn = [(w, placed, brush) for w, placed, brush in penreader.on_canvas("held_out")
                 if w.collection == collection]
        labels = np.array([w.label for w, _, _ in drawn])
        groups = np.array([w.writer.split("/")[-1] if collection == "pendigits" else w.site for w, _, _ in drawn])
        answers = said([(placed, brush) for _, placed, brush in drawn], image_reader, pen)

        def beside(mask):
            return "; ".join(f"{name} alone: {shown(shares(answers[name][mask], labels[mask]))}"
                             for name in ("image", "pen"))

        per_group = []
        for group in sorted(set(groups), key=lambda g: (-int((groups == g).sum()), g)):
            mask = groups == group
            per_group.append(shares(answers["both"][mask], labels[mask]))
            row(f"{collection} held out, {group_name} {group} ({mask.sum()} digits): both readers",
                shown(per_group[-1]), beside(mask), None)
        median = tuple(float(np.median([g[k] for g in per_group])) for k in range(3))
        row(f"{collection} held out, median of {len(per_group)} {group_name}s: {TARGET}", shown(median), "",
            met(median))
        everyone = np.ones(len(labels), bool)
        pooled = shares(answers["both"], labels)
        row(f"{collection} held out, pooled ({len(labels):,} digits): {TARGET}", shown(pooled), beside(everyone),
            met(pooled))
        pooled_parts[collection] = (pooled, shares(answers["image"], labels))
    row("Both readers never worse than the image reader alone (each collection's held-out part, pooled: "
        "named right no lower, named wrong no higher)",
        "; ".join(f"{c}: right {b[0]:+.1%}, wrong {b[2]:+.1%} vs image alone" for c, (b, i) in
                  ((c, (np.subtract(b, i), i)) for c, (b, i) in pooled_parts.items())),
        "", all(b[0] >= i[0] and b[2] <= i[2] for b, i in pooled_parts.values()))

    letters = list(penreader.on_canvas("held_out", "letters"))
    answers = said([(placed, brush) for _, placed, brush in letters], image_reader, pen)
    held = {name: float((a == -1).mean()) for name, a in answers.items()}
    row(f"Not digits, kinds taught in training: UNIPEN held-out upper-case letters "
        f"{''.join(protocol.NOT_DIGIT_LETTERS)} ({len(letters):,}): withheld >= 97 %",
        f"withheld {held['both']:.1%}", f"image alone {held['image']:.1%}; pen alone {held['pen']:.1%}",
        held["both"] >= 0.97)
    drawings, brushes, kinds = heldout.non_digit_strokes(non_digits, seed=heldout.HELD_OUT_SEED)
    kinds = np.array(kinds)
    taught = set(strokes.LETTERS) | set(protocol.NOT_DIGIT_LETTERS) | HAND_SEEN_EXTRA
    answers = said(list(zip(drawings, brushes)), image_reader, pen)
    for seen, name in ((True, "taught in training"), (False, "never seen in training")):
        mask = np.array([(k in taught) == seen for k in kinds])
        held = {reader: float((a[mask] == -1).mean()) for reader, a in answers.items()}
        named = {k: float((answers["both"][kinds == k] != -1).mean()) for k in sorted(set(kinds[mask]))}
        worst = sorted(((share, k) for k, share in named.items() if share), reverse=True)[:4]
        row(f"Not digits, kinds {name} (bench/heldout.py's own hand: {', '.join(sorted(set(kinds[mask])))}; "
            f"{mask.sum()}): withheld >= 97 %",
            f"withheld {held['both']:.1%}; named most often: " + (", ".join(f"{k} {s:.0%}" for s, k in worst) or "none"),
            f"image alone {held['image']:.1%}; pen alone {held['pen']:.1%}", held["both"] >= 0.97)


def readers():
    """The bundled best reader, the ones before #29 and #17 (from git, when the history is there) and
    the note's network, each with the threshold it carries: [(name, Predictor, model)]."""
    import tempfile

    from mnist_core import storage
    from mnist_core.predict import Predictor
    found = [("best reader", *storage.load_model(storage.BEST_READER))]
    for issue, commit in (("#29", BEFORE_29), ("#17", BEFORE_17)):
        old = subprocess.run(["git", "show", f"{commit}:models/default.keras"], cwd=ROOT, capture_output=True)
        if old.returncode == 0:
            with tempfile.NamedTemporaryFile(suffix=".keras") as file:
                file.write(old.stdout)
                file.flush()
                found.append((f"before {issue} ({commit})", *storage.load_model(file.name)))
    found.append(("the note's network", *storage.load_model(storage.NOTE_NETWORK)))
    return [(name, Predictor(model, metadata.get("withhold_below")), model) for name, model, metadata in found]


def bench_drawn(non_digits=900, invariance=200, calls=200):
    """The module's rows (its docstring says what they are)."""
    row, rows = collector()
    from mnist_core import evaluation
    from bench import heldout
    from mnist_core.drawings import pendigits
    from mnist_core.preprocess import canvas_to_mnist
    print("real people's drawings", flush=True)
    (_, best, best_model), *others = readers()
    images, labels, _ = pendigits.prepared("held_out")
    images = images.astype(np.float32) / 255
    from mnist_core.predict import pen_reader
    pen = pen_reader()
    if pen is None:
        row("The pen reader (models/pen-reader.keras)", "missing", "", False)
    else:
        pen_rows(row, best, pen, non_digits)
    row(f"Held-out pen writers, the image alone, pooled ({len(labels):,} digits): the older readers",
        shown(shares(said_by(best, images), labels)),
        "; ".join(f"{name}: {shown(shares(said_by(predictor, images), labels))}" for name, predictor, _ in others),
        None)
    chosen, chosen_labels, _ = pendigits.prepared("choose")
    row(f"Choose writers {', '.join(map(str, pendigits.CHOOSE_WRITERS))}, the image alone (trained on since #29, "
        "after its threshold was chosen on them; not a held-out figure)", shown(shares(said_by(best, chosen.astype(np.float32) / 255),
                                                                chosen_labels)),
        f"withhold below {best.withhold_below:.3f}", None)

    four, four_labels = heldout.four_ways(invariance, seed=heldout.HELD_OUT_SEED)
    answers = np.stack([best.predict(np.stack([canvas_to_mnist(i) for i in four[:, k]])) for k in range(4)], axis=1)
    same = (answers == answers[:, :1]).all(axis=1).mean()
    row(f"The same held-out digit thin/thick, small/large ({invariance} x 4 drawings): the same answer",
        f"{same:.1%} get one answer all four ways", "argmax right: " + ", ".join(
            f"{name} {(answers[:, k] == four_labels).mean():.0%}" for k, name in enumerate(heldout.WAYS)), same >= 0.95)

    accuracy = {name: evaluation.evaluate(model, data().x_test, data().y_test, predictor=predictor).accuracy
                for name, predictor, model in [("best", best, best_model)] + others}
    row("Best reader: MNIST test accuracy >= 99.5 %", f"{accuracy['best']:.2%}",
        "; ".join(f"{name}: {accuracy[name]:.2%}" for name, _, _ in others), accuracy["best"] >= 0.995)
    from mnist_core.storage import MODELS
    sizes = {path.name: path.stat().st_size for path in sorted(MODELS.glob("*.keras"))}
    row("Bundled model files together (models/): <= 5 MB", f"{sum(sizes.values()) / 1e6:.2f} MB",
        ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in sizes.items()), sum(sizes.values()) <= 5e6)
    fast, slow, compiled = predictor_speed(best, best_model, calls)
    row(f"Best reader, one drawing: Predictor vs model.predict (target >= 15x) and vs the compiled call, "
        f"median of {calls}", f"{fast * 1000:.2f} ms", baselines(fast, slow, compiled), slow / fast >= 15)
    return rows
