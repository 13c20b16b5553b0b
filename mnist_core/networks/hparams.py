"""A hyperparameter's schema: its default, its kind and its allowed range or choices.

Imports no TensorFlow: the pages and the command line validate choices before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    default: object
    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def validate(self, name: str, value):
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"{name} must be one of {', '.join(map(str, self.choices))}; "
                                 f"got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number; got {value!r}")
        if self.kind is int:
            if float(value) != int(value):
                raise ValueError(f"{name} must be a whole number; got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if value != value or (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high):
            raise ValueError(f"{name} must be between {self.low} and {self.high}; got {value!r}")
        return value
