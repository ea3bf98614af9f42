# CLEL on the bundled digits (CPU quickstart), the guided half of the pair.
_base_ = ['./_base_/clel_digits.py']
