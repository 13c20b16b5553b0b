"""Step 5 of the tutorial: measure the network on the test set it has never seen.

Everything is computed from one pass of probabilities: loss and accuracy (as `model.evaluate`
reports them), the confusion matrix, per-class precision / recall / F1, and the mistakes ordered
by how sure the model was of its wrong answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .predict import Predictor
from .preprocess import to_model_input

EPSILON = 1e-7   # Keras clips probabilities to [eps, 1 - eps] before the log


@dataclass(frozen=True)
class EvaluationReport:
    loss: float
    accuracy: float
    confusion: np.ndarray        # (10, 10): row = true digit, column = predicted digit
    precision: np.ndarray        # (10,)
    recall: np.ndarray
    f1: np.ndarray
    probabilities: np.ndarray    # (n, 10)
    predictions: np.ndarray      # (n,)
    mistakes: np.ndarray         # indices of misclassified images, most confident mistake first

    def cell(self, true_digit: int, predicted_digit: int, labels: np.ndarray) -> np.ndarray:
        """Indices of the images with this true label and this prediction."""
        return np.flatnonzero((labels == true_digit) & (self.predictions == predicted_digit))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int = 10) -> np.ndarray:
    return np.bincount(labels.astype(np.int64) * num_classes + predictions,
                       minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def evaluate(model, images: np.ndarray, labels: np.ndarray, *, predictor: Predictor | None = None,
             seconds: float | None = None) -> EvaluationReport:
    """Evaluate `model` on uint8 images (n, 28, 28) and integer labels (n,); with `seconds`,
    predict.OutOfTime once that long has passed."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or len(images) != len(labels) or len(labels) == 0:
        raise ValueError("expected uint8 images (n, 28, 28) and n integer labels, n > 0")
    predictor = predictor or Predictor(model)
    probabilities = predictor.predict_proba(to_model_input(images), seconds=seconds)
    predictions = probabilities.argmax(axis=1)

    clipped = np.clip(probabilities[np.arange(len(labels)), labels], EPSILON, 1 - EPSILON)
    loss = float(-np.log(clipped.astype(np.float64)).mean())
    accuracy = float((predictions == labels).mean())

    confusion = confusion_matrix(labels, predictions)
    true_positive = np.diag(confusion).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(true_positive / confusion.sum(axis=0))
        recall = np.nan_to_num(true_positive / confusion.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))

    wrong = np.flatnonzero(predictions != labels)
    mistakes = wrong[np.argsort(-probabilities[wrong, predictions[wrong]], kind="stable")]
    return EvaluationReport(loss, accuracy, confusion, precision, recall, f1,
                            probabilities, predictions, mistakes)
