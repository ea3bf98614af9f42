# TextNorm mean ensemble on TIA2 composition (released scale 1.0).
# The released prompt set adds LLM-written prompts to the rule-based ones:
# pass --prompt-set prompt_set_composition.json to use all of them.
_base_ = ['./_base_/reward_models.py']
textnorm = dict(tau=1.0, ensemble='mean',
                prompt_generator=dict(type='CompositionPrompts'))
