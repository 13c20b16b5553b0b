"""Both collections' held-out parts read as the Predict page reads them: bench/run.py --only drawn.

Every drawing goes to mnist_core.predict.read_canvas as the canvas hands it over (its RGBA image and
its json_data, the strokes as the canvas' own paths), with the bundled best reader and the pen reader.
The same call reports each reader's own probabilities, so one pass gives three answers: the image
reader alone (withheld below its own threshold), the pen reader alone (below the threshold chosen for
it on the choose part) and both (the page's answer). Rows per writer (pen digits) and per site (UNIPEN),
pooled and median; non-digits as kinds the training data teaches as "not a digit" and kinds it never saw.
"""

from __future__ import annotations

import numpy as np

HAND_SEEN_EXTRA = {"zigzag"}     # strokes.scribble draws zigzags; the rest are named in strokes.LETTERS


def canvas_value(strokes, brush: int) -> tuple[np.ndarray, dict]:
    """What the canvas returns for pen strokes (canvas px): RGBA image and json_data."""
    from mnist_core.drawings.canvas import paint
    from mnist_core.drawings.pen import fabric_path
    alpha = paint(strokes, brush)
    rgba = np.dstack([np.full_like(alpha, 30), np.full_like(alpha, 27), np.full_like(alpha, 75), alpha])
    objects = [{"type": "path", "strokeWidth": brush, "path": fabric_path(s)} for s in strokes]
    return rgba, {"version": "7.4.0", "objects": objects}


def said(drawings, image_reader, pen) -> dict[str, np.ndarray]:
    """drawings: [(strokes, brush)] -> what each way of reading says: the digit, or -1 (withheld)."""
    from mnist_core.predict import Reading, read_canvas
    found = {"image": [], "pen": [], "both": []}
    threshold = pen.pen_withhold_below
    for strokes, brush in drawings:
        reading = read_canvas(*canvas_value(strokes, brush), image_reader, pen)
        alone = {"image": Reading(reading.readers["image"], reading.image, image_reader.withhold_below),
                 "pen": Reading(reading.readers["pen"], reading.image, threshold), "both": reading}
        for name, r in alone.items():
            found[name].append(-1 if r.digit is None else r.digit)
    return {name: np.array(values) for name, values in found.items()}


def shares(answers, labels) -> tuple[float, float, float]:
    right, withheld = float((answers == labels).mean()), float((answers == -1).mean())
    return right, withheld, float(((answers != labels) & (answers != -1)).mean())


def shown(figures) -> str:
    return "right {:.1%} · withheld {:.1%} · wrong {:.1%}".format(*figures)


def met(figures) -> bool:
    return figures[0] >= 0.97 and figures[1] <= 0.02 and figures[2] <= 0.01


TARGET = "named right >= 97 %, withheld <= 2 %, named wrong <= 1 %"


def measure(row, image_reader, pen, non_digits: int = 900) -> None:
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
