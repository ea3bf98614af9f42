from .finetuned import FineTunedClassifier
from .image_classifier import ImageClassifier
from .off_the_shelf import OffTheShelfClassifier

__all__ = ['FineTunedClassifier', 'ImageClassifier', 'OffTheShelfClassifier']
