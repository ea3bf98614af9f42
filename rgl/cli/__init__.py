"""The ``rgl`` command: rgl's tools/ scripts from any folder.

``rgl train CONFIG ...`` runs the shipped ``tools/train.py`` as
``python tools/train.py CONFIG ...`` would from a checkout; see
:mod:`rgl.cli.main`.
"""
from .main import main

__all__ = ['main']
