"""ImageReward on transformers' BLIP modules, against the official layout.

The official state dict is generated here key by key from THUDM/ImageReward
(``ImageReward.py``, ``models/BLIP/blip_pretrain.py``, ``vit.py``,
``med.py``) for a tiny config, filled with random numbers, saved as the
release is (a plain ``torch.save`` of the state dict) and loaded through
``ImageRewardScore``. The scores are compared with a re-computation written
directly on the official tensors, following the official forward.
"""
import json
import math

import pytest
import torch
import torch.nn.functional as F

from rgl.models.rewards import ImageRewardScore, to_model_pixels
from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError

VISION = dict(width=32, depth=2, heads=2, image_size=32, patch_size=16)
WORDS = ['a', 'photo', 'of', 'an', 'apple', 'two', 'apples', 'cat', 'red',
         'dog', 'on', 'the', 'table', '##s']
SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
MED = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=64, max_position_embeddings=40,
           vocab_size=len(SPECIAL) + len(WORDS) + 2,  # + [DEC], [ENC]
           hidden_act='gelu', layer_norm_eps=1e-12, pad_token_id=0,
           hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
           encoder_width=768, add_cross_attention=True,
           architectures=['BertModel'], model_type='bert')
PROMPTS = ['a photo of an apple', 'two red apples on the table',
           'a cat', ' '.join(['a dog'] * 20)]  # the last one is truncated
MEAN, STD = 0.16717362830052426, 1.0333394966054072


def official_shapes(vision=VISION, med=MED, embed_dim=256):
    """Names and shapes of ``ImageReward(med_config).state_dict()``."""
    d, s, p = vision['width'], vision['image_size'], vision['patch_size']
    h, inter = med['hidden_size'], med['intermediate_size']
    out = {'blip.visual_encoder.cls_token': (1, 1, d),
           'blip.visual_encoder.pos_embed': (1, (s // p)**2 + 1, d),
           'blip.visual_encoder.patch_embed.proj.weight': (d, 3, p, p),
           'blip.visual_encoder.patch_embed.proj.bias': (d, )}
    for i in range(vision['depth']):
        b = f'blip.visual_encoder.blocks.{i}.'
        out.update({
            b + 'norm1.weight': (d, ), b + 'norm1.bias': (d, ),
            b + 'attn.qkv.weight': (3 * d, d), b + 'attn.qkv.bias': (3 * d, ),
            b + 'attn.proj.weight': (d, d), b + 'attn.proj.bias': (d, ),
            b + 'norm2.weight': (d, ), b + 'norm2.bias': (d, ),
            b + 'mlp.fc1.weight': (4 * d, d), b + 'mlp.fc1.bias': (4 * d, ),
            b + 'mlp.fc2.weight': (d, 4 * d), b + 'mlp.fc2.bias': (d, )})
    out.update({'blip.visual_encoder.norm.weight': (d, ),
                'blip.visual_encoder.norm.bias': (d, )})
    t = 'blip.text_encoder.'
    out.update({
        t + 'embeddings.position_ids': (1, med['max_position_embeddings']),
        t + 'embeddings.word_embeddings.weight': (med['vocab_size'], h),
        t + 'embeddings.position_embeddings.weight':
        (med['max_position_embeddings'], h),
        t + 'embeddings.LayerNorm.weight': (h, ),
        t + 'embeddings.LayerNorm.bias': (h, )})
    for j in range(med['num_hidden_layers']):
        b = f'{t}encoder.layer.{j}.'
        for att, kv in (('attention', h), ('crossattention', d)):
            out.update({
                f'{b}{att}.self.query.weight': (h, h),
                f'{b}{att}.self.query.bias': (h, ),
                f'{b}{att}.self.key.weight': (h, kv),
                f'{b}{att}.self.key.bias': (h, ),
                f'{b}{att}.self.value.weight': (h, kv),
                f'{b}{att}.self.value.bias': (h, ),
                f'{b}{att}.output.dense.weight': (h, h),
                f'{b}{att}.output.dense.bias': (h, ),
                f'{b}{att}.output.LayerNorm.weight': (h, ),
                f'{b}{att}.output.LayerNorm.bias': (h, )})
        out.update({
            b + 'intermediate.dense.weight': (inter, h),
            b + 'intermediate.dense.bias': (inter, ),
            b + 'output.dense.weight': (h, inter),
            b + 'output.dense.bias': (h, ),
            b + 'output.LayerNorm.weight': (h, ),
            b + 'output.LayerNorm.bias': (h, )})
    out.update({'blip.vision_proj.weight': (embed_dim, d),
                'blip.vision_proj.bias': (embed_dim, ),
                'blip.text_proj.weight': (embed_dim, h),
                'blip.text_proj.bias': (embed_dim, )})
    width = h
    for idx, nxt in zip((0, 2, 4, 6, 7), (1024, 128, 64, 16, 1)):
        out[f'mlp.layers.{idx}.weight'] = (nxt, width)
        out[f'mlp.layers.{idx}.bias'] = (nxt, )
        width = nxt
    return out


def official_state(seed=0):
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in official_shapes().items():
        if name.endswith('position_ids'):
            state[name] = torch.arange(shape[-1]).expand(1, -1)
        elif 'LayerNorm.weight' in name or name.endswith(
                ('norm1.weight', 'norm2.weight', 'norm.weight')):
            state[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            fan = shape[-1] if len(shape) > 1 else 1
            state[name] = torch.randn(shape, generator=g) / math.sqrt(fan)
    return state


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('imagereward')
    tok = root / 'bert'
    tok.mkdir()
    (tok / 'vocab.txt').write_text('\n'.join(SPECIAL + WORDS) + '\n')
    (root / 'med_config.json').write_text(json.dumps(MED))
    state = official_state()
    torch.save(state, root / 'ImageReward.pt')
    return dict(root=root, tokenizer=str(tok), state=state,
                med_config=str(root / 'med_config.json'),
                checkpoint=str(root / 'ImageReward.pt'))


def build(files, checkpoint=None, **kw):
    kw.setdefault('vision', VISION)
    return ImageRewardScore(checkpoint=checkpoint or files['checkpoint'],
                            med_config=files['med_config'],
                            tokenizer=files['tokenizer'], **kw)


# -- the official forward, re-computed on the official tensors ---------------

def _mha(q, k, v, heads, bias=None):
    b, n, c = q.shape
    q, k, v = (x.reshape(b, x.shape[1], heads, c // heads).transpose(1, 2)
               for x in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(c // heads)
    if bias is not None:
        scores = scores + bias
    return (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)


def ref_vit(sd, x):
    p, heads = 'blip.visual_encoder.', VISION['heads']
    w = sd[p + 'patch_embed.proj.weight']
    d = w.shape[0]
    t = F.conv2d(x, w, sd[p + 'patch_embed.proj.bias'], stride=w.shape[-1])
    t = t.flatten(2).transpose(1, 2)
    t = torch.cat([sd[p + 'cls_token'].expand(len(x), -1, -1), t], 1)
    t = t + sd[p + 'pos_embed']

    def ln(z, n):
        return F.layer_norm(z, (d, ), sd[n + '.weight'], sd[n + '.bias'],
                            1e-6)

    for i in range(VISION['depth']):
        b = f'{p}blocks.{i}.'
        h = ln(t, b + 'norm1')
        q, k, v = F.linear(h, sd[b + 'attn.qkv.weight'],
                           sd[b + 'attn.qkv.bias']).chunk(3, -1)
        t = t + F.linear(_mha(q, k, v, heads), sd[b + 'attn.proj.weight'],
                         sd[b + 'attn.proj.bias'])
        h = F.gelu(F.linear(ln(t, b + 'norm2'), sd[b + 'mlp.fc1.weight'],
                            sd[b + 'mlp.fc1.bias']))
        t = t + F.linear(h, sd[b + 'mlp.fc2.weight'], sd[b + 'mlp.fc2.bias'])
    return ln(t, p + 'norm')


def ref_text_cls(sd, ids, mask, image):
    t, heads = 'blip.text_encoder.', MED['num_attention_heads']
    hid = MED['hidden_size']

    def lin(z, n):
        return F.linear(z, sd[n + '.weight'], sd[n + '.bias'])

    def ln(z, n):
        return F.layer_norm(z, (hid, ), sd[n + '.weight'], sd[n + '.bias'],
                            1e-12)

    h = sd[t + 'embeddings.word_embeddings.weight'][ids]
    h = h + sd[t + 'embeddings.position_embeddings.weight'][:ids.shape[1]]
    h = ln(h, t + 'embeddings.LayerNorm')
    # med.py get_extended_attention_mask: (1 - mask) * -10000
    bias = (1.0 - mask[:, None, None, :].float()) * -10000.0
    for j in range(MED['num_hidden_layers']):
        b = f'{t}encoder.layer.{j}.'
        for att, src, m in (('attention', None, bias),
                            ('crossattention', image, None)):
            kv = h if src is None else src
            a = _mha(lin(h, f'{b}{att}.self.query'),
                     lin(kv, f'{b}{att}.self.key'),
                     lin(kv, f'{b}{att}.self.value'), heads, m)
            h = ln(lin(a, f'{b}{att}.output.dense') + h,
                   f'{b}{att}.output.LayerNorm')
        f = F.gelu(lin(h, b + 'intermediate.dense'))
        h = ln(lin(f, b + 'output.dense') + h, b + 'output.LayerNorm')
    return h[:, 0]


def ref_reward(sd, pixels, ids, mask):
    h = ref_text_cls(sd, ids, mask, ref_vit(sd, pixels))
    for idx in (0, 2, 4, 6, 7):  # dropouts are identities in eval
        h = F.linear(h, sd[f'mlp.layers.{idx}.weight'],
                     sd[f'mlp.layers.{idx}.bias'])
    return (h.squeeze(-1) - MEAN) / STD


# -- tests ---------------------------------------------------------------

def test_imagereward_official_layout_scores_like_the_official_forward(files):
    r = MODELS.build(dict(type='ImageRewardScore', vision=VISION,
                          checkpoint=files['checkpoint'],
                          med_config=files['med_config'],
                          tokenizer=files['tokenizer'], batch_size=4))
    torch.manual_seed(1)
    images = torch.rand(4, 3, 40, 36)
    got = r.score(images, PROMPTS)
    assert got.shape == (4, )
    pixels, ids, mask = r.encode(images, PROMPTS)
    assert ids.shape == mask.shape == (4, 35)
    cls_id = r.tokenizer.convert_tokens_to_ids('[CLS]')
    assert (ids[:, 0] == cls_id).all()  # no [ENC] swap in the release
    assert mask[0].sum() == 7 and mask[3].sum() == 35  # padded / truncated
    want_pixels = to_model_pixels(images, 32, (0.48145466, 0.4578275,
                                               0.40821073),
                                  (0.26862954, 0.26130258, 0.27577711))
    torch.testing.assert_close(pixels, want_pixels)
    want = ref_reward(files['state'], pixels, ids, mask)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert got.std() > 1e-3  # the prompts and images matter


def test_imagereward_batch_size_and_padding_independent(files):
    r = build(files, batch_size=1)
    torch.manual_seed(2)
    images = [torch.rand(3, 48, 32), torch.rand(3, 32, 32),
              torch.rand(3, 33, 64)]
    one = r.score(images, PROMPTS[:3])
    r.batch_size = 3
    torch.testing.assert_close(r.score(images, PROMPTS[:3]), one,
                               rtol=1e-5, atol=1e-5)
    # the padding to 35 tokens is masked out: 40 tokens give the same score
    longer = build(files, max_length=40)
    torch.testing.assert_close(longer.score(images, PROMPTS[:3]), one,
                               rtol=1e-4, atol=1e-4)


def test_imagereward_normalisation_constants(files):
    r = build(files)
    assert r.reward_mean == MEAN and r.reward_std == STD
    torch.manual_seed(3)
    pixels, ids, mask = r.encode(torch.rand(2, 3, 32, 32), PROMPTS[:2])
    raw = r.net.raw_reward(pixels, ids, mask)
    torch.testing.assert_close(r.net(pixels, ids, mask), (raw - MEAN) / STD)


def test_imagereward_key_mismatch_names_key_and_file(files, tmp_path):
    state = dict(files['state'])
    gone = 'blip.visual_encoder.blocks.1.attn.proj.bias'
    del state[gone]
    path = str(tmp_path / 'missing.pt')
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r'missing\.pt.*1 missing.*'
                       + gone.replace('.', r'\.')):
        build(files, checkpoint=path)
    state = dict(files['state'], **{'blip.itm_head.weight': torch.zeros(2)})
    path = str(tmp_path / 'extra.pt')
    torch.save(state, path)
    with pytest.raises(CheckpointError,
                       match=r'extra\.pt.*unexpected.*blip\.itm_head'):
        build(files, checkpoint=path)
    state = dict(files['state'])
    state['mlp.layers.7.weight'] = torch.zeros(1, 8)
    path = str(tmp_path / 'shape.pt')
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r'mlp\.layers\.7\.weight'):
        build(files, checkpoint=path)
    state = dict(files['state'])
    state['blip.text_encoder.embeddings.position_ids'] = torch.zeros(
        1, 40, dtype=torch.long)
    path = str(tmp_path / 'pos.pt')
    torch.save(state, path)
    with pytest.raises(CheckpointError, match='position_ids'):
        build(files, checkpoint=path)


def test_imagereward_config_errors(files, tmp_path):
    with pytest.raises(ConfigError, match='checkpoint'):
        ImageRewardScore()
    with pytest.raises(ConfigError, match='tokenizer'):
        ImageRewardScore(files['checkpoint'], files['med_config'])
    with pytest.raises(CheckpointError, match='nope.json'):
        ImageRewardScore(files['checkpoint'], str(tmp_path / 'nope.json'),
                         tokenizer=files['tokenizer'])
    with pytest.raises(CheckpointError, match='vocab.txt'):
        ImageRewardScore(files['checkpoint'], files['med_config'],
                         tokenizer=str(tmp_path))
    with pytest.raises(CheckpointError, match='not found'):
        build(files, checkpoint=str(tmp_path / 'ImageReward.pt'))
    with pytest.raises(ConfigError, match='unknown keys'):
        build(files, vision=dict(VISION, depht=3))


def test_imagereward_full_size_layout_fits_the_released_file_size():
    """The default (ViT-L/16 + BERT-base) state dict, under the official
    names plus the int64 ``position_ids``, holds 1,786,667,908 bytes of
    tensors; the released ``ImageReward.pt`` has 1,786,880,927 bytes (the
    size recorded for THUDM/ImageReward revision 5736be03). The 213 kB
    left is the zip/pickle framing of 625 entries (``torch.save`` of this
    layout with random weights wrote 1,786,876,153 bytes here, 4.8 kB from
    the release): a missing or extra layer, or the projections, would be
    megabytes."""
    from rgl.models.rewards.image_reward_blip import ImageRewardNet
    from rgl.models.rewards.image_reward_convert import rgl_to_official
    with torch.device('meta'):
        net = ImageRewardNet()
    state = {rgl_to_official(k): v for k, v in net.state_dict().items()}
    assert len(state) == 624
    assert state['blip.visual_encoder.pos_embed'].shape == (1, 197, 1024)
    assert state['blip.text_encoder.encoder.layer.11.crossattention.self'
                 '.key.weight'].shape == (768, 1024)
    assert state['blip.text_encoder.embeddings.word_embeddings.weight'
                 ].shape == (30524, 768)
    size = sum(v.numel() * v.element_size() for v in state.values())
    size += 512 * 8  # blip.text_encoder.embeddings.position_ids
    assert size == 1786667908
    assert 0 < 1786880927 - size < 400 * 625


def test_imagereward_score_grid_shares_image_tokens(files):
    r = build(files, batch_size=4)
    torch.manual_seed(4)
    images = torch.rand(3, 3, 36, 32)
    grid = [['a cat', 'two apples'], ['a dog', 'a red apple'],
            ['the table', 'a cat']]
    got = r.score_grid(images, grid)
    assert got.shape == (3, 2)
    flat_images = images.repeat_interleave(2, 0)
    want = r.score(flat_images, [q for ps in grid for q in ps]).view(3, 2)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert r.score_grid(images[:0], []).shape == (0, 0)
