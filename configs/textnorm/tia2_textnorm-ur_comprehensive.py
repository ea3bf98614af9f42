# TextNorm UR ensemble on TIA2 comprehensive (released scale 3.0,
# lambda 0.5). The contrastive prompts are LLM-written: they come from the
# released prompt set.
_base_ = ['./_base_/reward_models.py']
textnorm = dict(tau=1 / 3, ensemble='ur', lam=0.5,
                prompt_generator=dict(
                    type='PromptSet',
                    path='data/tia2/prompts/prompt_set_comprehensive.json'))
