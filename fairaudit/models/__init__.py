"""Baseline classifiers shared by the case studies."""

from fairaudit.models._classifiers import (
    MODEL_KINDS,
    make_classifier,
)

__all__ = [
    "MODEL_KINDS",
    "make_classifier",
]
