# TextNorm UR ensemble on TIA2 counting. The released per-prompt scores
# record scale 3.0 and lambda 1.0 for this ensemble; rgl reads the scale as
# the inverse temperature (tau = 1/3), which is an interpretation (see
# docs/methods/textnorm.md).
_base_ = ['./_base_/reward_models.py']
textnorm = dict(tau=1 / 3, ensemble='ur', lam=1.0,
                prompt_generator=dict(type='CountingPrompts'))
