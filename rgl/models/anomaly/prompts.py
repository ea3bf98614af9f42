"""WinCLIP's compositional prompt ensemble (CPE)."""
import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from .clip_loader import encode_text

#: State words of a normal object (``{}`` is the class name).
NORMAL_STATES = ('{}', 'flawless {}', 'perfect {}', 'unblemished {}',
                 '{} without flaw', '{} without defect', '{} without damage')
#: State words of an anomalous object.
ANOMALOUS_STATES = ('damaged {}', '{} with flaw', '{} with defect',
                    '{} with damage')
#: Templates (``{}`` is a state phrase). The 11 template families of the
#: paper, each with "a" and "the"; listed once each (a duplicated entry would
#: weigh one template twice in the average).
TEMPLATES = (
    'a cropped photo of the {}.', 'a cropped photo of a {}.',
    'a close-up photo of a {}.', 'a close-up photo of the {}.',
    'a bright photo of a {}.', 'a bright photo of the {}.',
    'a dark photo of the {}.', 'a dark photo of a {}.',
    'a jpeg corrupted photo of the {}.', 'a jpeg corrupted photo of a {}.',
    'a blurry photo of the {}.', 'a blurry photo of a {}.',
    'a photo of a {}.', 'a photo of the {}.',
    'a photo of a small {}.', 'a photo of the small {}.',
    'a photo of a large {}.', 'a photo of the large {}.',
    'a photo of the {} for visual inspection.',
    'a photo of a {} for visual inspection.',
    'a photo of the {} for anomaly detection.',
    'a photo of a {} for anomaly detection.',
)


@MODELS.register_module()
class CompositionalPromptEnsemble(nn.Module):
    """Text prototypes ``t_n`` (normal) and ``t_a`` (anomalous).

    Every state word is crossed with every template, each prompt is encoded
    by the CLIP text tower, and each set is averaged into one unit-norm
    prototype: ``t = normalize(mean_i normalize(g(p_i)))``.

    Args:
        normal_states, anomalous_states, templates (Sequence[str]): the
            ensemble; defaults are the paper's lists.
    """

    def __init__(self, normal_states=NORMAL_STATES,
                 anomalous_states=ANOMALOUS_STATES, templates=TEMPLATES):
        super().__init__()
        self.normal_states = tuple(normal_states)
        self.anomalous_states = tuple(anomalous_states)
        self.templates = tuple(templates)

    def prompts(self, class_name):
        """``(normal_prompts, anomalous_prompts)`` for one class name."""
        def cross(states):
            return [t.format(s.format(class_name)) for s in states
                    for t in self.templates]
        return cross(self.normal_states), cross(self.anomalous_states)

    @torch.no_grad()
    def forward(self, clip_model, tokenizer, class_name):
        """Prototypes ``(2, D)``: row 0 normal, row 1 anomalous."""
        normal, anomalous = self.prompts(class_name)
        emb = encode_text(clip_model, tokenizer, normal + anomalous)
        protos = torch.stack([emb[:len(normal)].mean(0),
                              emb[len(normal):].mean(0)])
        return F.normalize(protos, dim=-1)
