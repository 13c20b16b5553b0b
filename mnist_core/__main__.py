"""Command line: the tutorial from a terminal.

    python -m mnist_core train --arch cnn_fast --out models/fast.keras   # the preset's own recipe
    python -m mnist_core evaluate --model models/seed.keras
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from .data import ENV_VAR, MnistDataError, load_mnist
from mnist_core.networks.presets import ARCHITECTURES, TUTORIAL


def _recipe_text(arch) -> str:
    return (f"--epochs {arch.epochs} --batch-size {arch.batch_size}"
            + (f" --validation-split {arch.validation_split}" if arch.validation_split else "")).replace("%", "%%")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mnist_core",
        description="Train and evaluate MNIST models as in the Keras tutorial.",
        epilog=f"MNIST is read from --data, else ${ENV_VAR}, else ~/.keras/datasets/mnist.npz, "
               "else downloaded the way Keras does.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model and save it as a .keras file",
                                description="Train a model on the 60,000 training digits, report "
                                            "test accuracy, and save it with its metadata.")
    train.add_argument("--arch", default=TUTORIAL.name, choices=list(ARCHITECTURES),
                       help="architecture, trained with its own recipe unless told otherwise: " +
                            "; ".join(f"{a.name} ({_recipe_text(a)})" for a in ARCHITECTURES.values()) +
                            f" (default {TUTORIAL.name}: the tutorial's network and recipe)")
    train.add_argument("--epochs", type=int, default=None, help="passes over the training data "
                       "(default: the architecture's)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="images per update (default: the architecture's)")
    train.add_argument("--validation-split", type=float, default=None,
                       help="fraction of the training data held out to watch for overfitting and to "
                            "time 98/99/99.5 %% (default: the architecture's)")
    train.add_argument("--seed", type=int, default=None, help="make the run repeatable")
    train.add_argument("--drawings", type=int, default=0,
                       help="also train on this many drawings made on the Predict page's canvas (60%% real "
                            "pen-drawn digits by both collections' training writers, augmented; 10%% MNIST "
                            "re-stroked; 10%% real upper-case letters no digit looks like and 20%% generated "
                            "letters, symbols and scribbles, taught as 'not a digit'); the model then "
                            "carries the confidence under which it withholds an answer, chosen on the 4 "
                            "choose-writers' digits")
    train.add_argument("--start-from", default=None, metavar="MODEL",
                       help="start from this saved model's weights (the same --arch and --hparam) "
                            "instead of new ones: continue training it on this run's data")
    train.add_argument("--hparam", action="append", default=[], metavar="NAME=VALUE",
                       help="an architecture hyperparameter, e.g. --hparam hidden_units=256 "
                            "--hparam optimizer=adam (repeatable)")
    train.add_argument("--backend", choices=("local", "ray"), default=None,
                       help="where to train: local (this process) or ray (a Ray cluster at "
                            "$RAY_ADDRESS, or a local one started for the run); default: ray when "
                            "RAY_ADDRESS is set, else local")
    train.add_argument("--out", required=True, help="where to save the model (.keras)")
    train.add_argument("--data", default=None, help="folder with the four IDX files, or a mnist.npz")

    evaluate = commands.add_parser("evaluate", help="report test loss, accuracy and confusion matrix",
                                   description="Evaluate a saved model on the 10,000 test digits.")
    evaluate.add_argument("--model", required=True, help="a .keras file saved by MNIST Studio or Keras")
    evaluate.add_argument("--data", default=None, help="folder with the four IDX files, or a mnist.npz")
    return parser


def _parse_hparams(pairs: list[str]) -> dict:
    hparams = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise ValueError(f"--hparam takes NAME=VALUE; got {pair!r}")
        for convert in (int, float):
            try:
                hparams[name] = convert(text)
                break
            except ValueError:
                continue
        else:
            hparams[name] = text
    return hparams


def run_spec(args):
    """The run `train` asks for: the architecture's own recipe, with what the options change."""
    from mnist_core.runs.runspec import RunSpec
    given = {"epochs": args.epochs, "batch_size": args.batch_size,
             "validation_split": args.validation_split}
    return RunSpec.preset(args.arch, _parse_hparams(args.hparam), seed=args.seed, drawings=args.drawings,
                          **{name: value for name, value in given.items() if value is not None}).validated()


def _train(args) -> int:
    from . import storage, training
    spec = run_spec(args)
    data = load_mnist(args.data)
    print(f"Data: {data.source}")

    def show(progress):
        line = (f"epoch {progress.epoch}/{progress.epochs} step {progress.step}/{progress.steps} "
                f"loss {progress.loss:.4f} accuracy {progress.accuracy:.4f}")
        if progress.kind == "epoch":
            if progress.val_accuracy is not None:
                line += f" val_loss {progress.val_loss:.4f} val_accuracy {progress.val_accuracy:.4f}"
            print(f"\r{line} ({progress.elapsed:.1f} s)", flush=True)
        else:
            print(f"\r{line}", end="", flush=True)

    command = "python -m mnist_core " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    name, source = f"{args.arch} ({spec.epochs} epochs)", f"trained with `{command}`"
    from mnist_core.runs import cluster
    if args.start_from and (args.backend == "ray" or (args.backend is None and cluster.enabled())):
        raise ValueError("--start-from trains locally: use --backend local")
    if args.backend == "ray" or (args.backend is None and cluster.enabled()):
        if args.data:      # the workers read MNIST where this command was told to
            os.environ["MNIST_DATA"] = str(args.data)
        trained = _train_on_ray(spec, data, show, name)
        trained.metadata["source"] = source
    else:
        trained = training.run(spec, data, on_progress=show, name=name, source=source,
                               start_from=args.start_from)
    print(f"Trained in {trained.result.seconds:.1f} s. Test loss {trained.report.loss:.4f}, "
          f"test accuracy {trained.report.accuracy:.4f}")
    crossed = trained.metadata.get("time_to", {})
    if spec.validation_split:
        print("Validation accuracy first reached " + ", ".join(
            f"{float(m):.1%} after {s} s" if s is not None else f"{float(m):.1%}: not reached"
            for m, s in crossed.items()))
    path = storage.save_model(trained.model, args.out, trained.metadata)
    print(f"Saved {path}")
    return 0


def _train_on_ray(spec, data, show, name):
    """The run as a RayTrainingJob, its progress printed as it streams back."""
    import time

    from mnist_core.runs import cluster
    from mnist_core.runs.jobs import DONE_STATES, FAILED
    cluster.connect()
    job = cluster.RayTrainingJob(spec, data, name=name).start()
    print(f"Backend: Ray at {cluster.connect().get_runtime_context().gcs_address}")
    shown = 0
    while True:
        snapshot = job.snapshot()
        reports = sorted(snapshot.batches + snapshot.epochs, key=lambda p: p.elapsed)
        for report in reports[shown:]:
            show(report)
        shown = len(reports)
        if snapshot.state in DONE_STATES:
            break
        time.sleep(cluster.POLL_SECONDS)
    if snapshot.state == FAILED or job.outcome is None:
        raise RuntimeError(f"the run failed ({snapshot.error}); the log above says why"
                           if snapshot.error else "the run did not finish")
    return job.outcome


def _evaluate(args) -> int:
    from . import evaluation, storage
    model, metadata = storage.load_model(args.model)
    data = load_mnist(args.data)
    report = evaluation.evaluate(model, data.x_test, data.y_test)
    print(f"Model: {metadata.get('name', args.model)}   Data: {data.source}")
    print(f"Test loss {report.loss:.4f}, test accuracy {report.accuracy:.4f}")
    print("Confusion matrix (rows: true digit, columns: predicted digit):")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for digit, row in enumerate(report.confusion):
        print(f"{digit:>6}" + "".join(f"{n:>6}" for n in row))
    print("digit  precision  recall  f1")
    for digit in range(10):
        print(f"{digit:>5}  {report.precision[digit]:>9.4f}  {report.recall[digit]:>6.4f}  "
              f"{report.f1[digit]:.4f}")
    return 0


# The app's English catalogue: a refused model file (a code with values) reads the same here as on
# the page, in the one place that English is written.
CATALOGUE = Path(__file__).resolve().parents[1] / "studio" / "ui" / "locales" / "en.json"


def _english(exc: Exception) -> str:
    """A ModelFileError in the catalogue's words; anything else as it is."""
    code, values = getattr(exc, "code", None), getattr(exc, "values", None)
    if code is None or values is None:
        return str(exc)
    try:
        return json.loads(CATALOGUE.read_text(encoding="utf-8"))[f"model_file.{code}"].format(**values)
    except (OSError, ValueError, KeyError):   # an installed library without the app beside it
        return str(exc)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from .storage import ModelFileError
    try:
        return _train(args) if args.command == "train" else _evaluate(args)
    except (MnistDataError, ModelFileError, ValueError, RuntimeError) as exc:
        print(f"error: {_english(exc) if isinstance(exc, ModelFileError) else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
