import torch
import torch.nn.functional as F

from rgl.models.anomaly import CompositionalPromptEnsemble
from rgl.models.anomaly.clip_loader import build_open_clip, build_tokenizer
from rgl.models.anomaly.prompts import (ANOMALOUS_STATES, NORMAL_STATES,
                                        TEMPLATES)
from winclip_helpers import TINY_CLIP_CFG


def test_prompt_lists():
    assert len(NORMAL_STATES) == 7 and len(ANOMALOUS_STATES) == 4
    assert len(TEMPLATES) == len(set(TEMPLATES)) == 22
    normal, anomalous = CompositionalPromptEnsemble().prompts('metal nut')
    assert len(normal) == 7 * 22 and len(anomalous) == 4 * 22
    assert 'a photo of a flawless metal nut.' in normal
    assert 'a cropped photo of the metal nut with defect.' in anomalous
    assert not set(normal) & set(anomalous)


def test_prototypes_are_averaged_unit_embeddings():
    torch.manual_seed(0)
    clip = build_open_clip('tiny', model_cfg=TINY_CLIP_CFG)
    tok = build_tokenizer('tiny', clip)
    cpe = CompositionalPromptEnsemble(templates=('a photo of a {}.',
                                                 'a {} in a photo.'))
    protos = cpe(clip, tok, 'screw')
    assert protos.shape == (2, 32)
    torch.testing.assert_close(protos.norm(dim=-1), torch.ones(2))
    normal, anomalous = cpe.prompts('screw')
    with torch.no_grad():
        emb = clip.encode_text(tok(anomalous), normalize=True)
    torch.testing.assert_close(protos[1], F.normalize(emb.mean(0), dim=0))


def test_tokenizer_works_offline_for_default_arch():
    import open_clip
    tok = build_tokenizer('ViT-B-16-plus-240', None)
    assert isinstance(tok, open_clip.tokenizer.SimpleTokenizer)
    ids = tok(['a photo of a damaged bottle.'])
    assert ids.shape == (1, 77) and ids[0, 0] == tok.sot_token_id
