# The same EBM and budget as clel_tiny_digits.py without the latent guide
# (the paper's baseline: no −β·cos term, no SimCLR encoder).
_base_ = ['./_base_/clel_digits.py']

model = dict(guide=None)
