"""`--only drawn`: what Predict says about real people's drawings (held-out pen writers), about
non-digits drawn by bench/heldout.py's hand, the same digit four ways, and the best reader's
accuracy, size and speed; beside each, the reader before #17 and the note's network."""

from __future__ import annotations

import subprocess

import numpy as np

from bench.sections import ROOT, data
from bench.sections.predict import baselines, predictor_speed
from bench.table import collector

BEFORE_17 = "8e16730"   # the last commit whose models/default.keras was trained on generated drawings only


def said_by(predictor, images) -> np.ndarray:
    """What the Predict page says for each prepared 28x28 image: the digit, or -1 when it withholds."""
    return np.array([-1 if (r := predictor.read(image)).digit is None else r.digit for image in images])


def shares(said, labels) -> tuple[float, float, float]:
    """(named right, withheld, named wrong) as the page says it."""
    right, withheld = float((said == labels).mean()), float((said == -1).mean())
    return right, withheld, 1 - right - withheld


def shown(figures) -> str:
    return "named right {:.1%} · withheld {:.1%} · named wrong {:.1%}".format(*figures)


def readers():
    """The bundled best reader, the one before #17 (from git, when the history is there) and the
    note's network, each with the threshold it carries: [(name, Predictor, model)]."""
    import tempfile

    from mnist_core import storage
    from mnist_core.predict import Predictor
    found = [("best reader", *storage.load_model(storage.BEST_READER))]
    old = subprocess.run(["git", "show", f"{BEFORE_17}:models/default.keras"], cwd=ROOT, capture_output=True)
    if old.returncode == 0:
        with tempfile.NamedTemporaryFile(suffix=".keras") as file:
            file.write(old.stdout)
            file.flush()
            found.append((f"before #17 ({BEFORE_17})", *storage.load_model(file.name)))
    found.append(("the note's network", *storage.load_model(storage.NOTE_NETWORK)))
    return [(name, Predictor(model, metadata.get("withhold_below")), model) for name, model, metadata in found]


def bench_drawn(non_digits=900, invariance=200, calls=200):
    """What the page says about the held-out writers' real pen digits (never trained, tuned or
    chosen on), per writer, their median and pooled; about non-digits drawn by bench.heldout's
    own hand; and the best reader's MNIST test accuracy, file size and speed. Beside each, the
    reader before #17 and the note's network, measured in the same run."""
    row, rows = collector()
    from mnist_core import evaluation
    from bench import heldout
    from mnist_core.drawings import pendigits
    from mnist_core.preprocess import canvas_to_mnist
    print("real people's drawings", flush=True)
    (_, best, best_model), *others = readers()
    images, labels, writers = pendigits.prepared("held_out")
    images = images.astype(np.float32) / 255
    said = {name: said_by(predictor, images) for name, predictor, _ in [("best", best, None)] + others}

    def beside(mask):
        return "; ".join(f"{name}: {shown(shares(said[name][mask], labels[mask]))}" for name, _, _ in others)

    per_writer = []
    for writer in pendigits.HELD_OUT_WRITERS:
        mask = writers == writer
        per_writer.append(shares(said["best"][mask], labels[mask]))
        row(f"Held-out writer {writer} ({mask.sum()} real pen digits)", shown(per_writer[-1]), beside(mask), None)
    target = "named right >= 97 %, withheld <= 2 %, named wrong <= 1 %"

    def met(figures):
        return figures[0] >= 0.97 and figures[1] <= 0.02 and figures[2] <= 0.01

    median = tuple(float(np.median([w[k] for w in per_writer])) for k in range(3))
    row(f"Held-out writers, median of the {len(per_writer)} writers: {target}", shown(median), "", met(median))
    pooled = shares(said["best"], labels)
    everyone = np.ones(len(labels), bool)
    row(f"Held-out writers, pooled ({len(labels):,} digits): {target}", shown(pooled),
        beside(everyone) + "; best reader per digit, named right: " +
        ", ".join(f"{d}: {(said['best'][labels == d] == d).mean():.0%}" for d in range(10)), met(pooled))
    chosen, chosen_labels, _ = pendigits.prepared("choose")
    row(f"Choose writers {', '.join(map(str, pendigits.CHOOSE_WRITERS))} (the threshold was chosen on them; "
        "not a held-out figure)", shown(shares(said_by(best, chosen.astype(np.float32) / 255), chosen_labels)),
        f"withhold below {best.withhold_below:.3f}", None)

    pictures, kinds = heldout.non_digits(non_digits, seed=heldout.HELD_OUT_SEED)
    prepared = np.stack([canvas_to_mnist(p) for p in pictures])
    held = {name: said_by(predictor, prepared) == -1 for name, predictor, _ in [("best", best, None)] + others}
    kinds = np.array(kinds)
    named = {kind: float((~held["best"][kinds == kind]).mean()) for kind in sorted(set(kinds))}
    worst = sorted((share, kind) for kind, share in named.items() if share)[::-1][:4]
    row(f"Not digits ({non_digits} letters, symbols, shapes by bench/heldout.py's own hand): withheld >= 97 %",
        f"withheld {held['best'].mean():.1%}; named as a digit most often: "
        + (", ".join(f"{kind} {share:.0%}" for share, kind in worst) or "none"),
        "; ".join(f"{name}: withheld {held[name].mean():.1%}" for name, _, _ in others), held["best"].mean() >= 0.97)

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
    from mnist_core.storage import BEST_READER
    size = BEST_READER.stat().st_size
    row("Best reader: file size <= 5 MB", f"{size / 1e6:.2f} MB", "", size <= 5e6)
    fast, slow, compiled = predictor_speed(best, best_model, calls)
    row(f"Best reader, one drawing: Predictor vs model.predict (target >= 15x) and vs the compiled call, "
        f"median of {calls}", f"{fast * 1000:.2f} ms", baselines(fast, slow, compiled), slow / fast >= 15)
    return rows
