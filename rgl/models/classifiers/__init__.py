from .image_classifier import ImageClassifier
from .off_the_shelf import OffTheShelfClassifier  # noqa: F401

__all__ = ['ImageClassifier']
