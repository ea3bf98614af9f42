import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from rgl.models.rewards import (BLIP2Score, CLIPScore, ImageRewardScore,
                                PickScore, to_model_pixels)
from rgl.registry import MODELS
from rgl.utils.errors import CheckpointError, ConfigError

TINY_CLIP = dict(
    embed_dim=16,
    vision_cfg=dict(image_size=32, layers=1, width=32, head_width=16,
                    patch_size=16),
    text_cfg=dict(context_length=77, vocab_size=49408, width=16, heads=2,
                  layers=1))
PROMPTS = ['a photo of an apple', 'a photo of two apples', 'a cat']


@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    import open_clip
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('clip') / 'clip.bin')
    torch.save(open_clip.CLIP(**TINY_CLIP).state_dict(), path)
    return path


def test_clip_score_matches_open_clip(clip_file):
    r = MODELS.build(dict(type='CLIPScore', model_name='tiny',
                          checkpoint=clip_file, model_cfg=TINY_CLIP,
                          batch_size=2))
    torch.manual_seed(1)
    images = torch.rand(3, 3, 40, 36)
    got = r.score(images, PROMPTS)
    x = to_model_pixels(images, 32, r.mean, r.std)
    img = F.normalize(r.clip.encode_image(x), dim=-1)
    txt = F.normalize(r.clip.encode_text(r.tokenizer(PROMPTS)), dim=-1)
    want = r.clip.logit_scale.exp() * (img * txt).sum(-1)
    torch.testing.assert_close(got, want.detach())
    # score_grid encodes each image once against all its prompts
    grid = r.score_grid(images, [PROMPTS] * 3)
    torch.testing.assert_close(torch.diagonal(grid), got)
    torch.testing.assert_close(grid[1], r.score(images[[1] * 3], PROMPTS))
    # a list of images of different sizes
    mixed = r.score([images[0], images[1, :, :32, :33]], PROMPTS[:2])
    assert mixed.shape == (2, ) and torch.isclose(mixed[0], got[0])


def test_clip_score_missing_weights(tmp_path):
    with pytest.raises(CheckpointError, match='missing.bin'):
        CLIPScore('tiny', str(tmp_path / 'missing.bin'), TINY_CLIP)
    with pytest.raises(ConfigError, match='checkpoint is required'):
        CLIPScore('tiny', None, TINY_CLIP)


def _tiny_pickscore(folder):
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel,
                              CLIPTokenizer)

    from rgl.models.distillers.tiny import write_tokenizer_files
    vocab_size = write_tokenizer_files(folder)
    CLIPTokenizer(osp.join(folder, 'vocab.json'),
                  osp.join(folder, 'merges.txt'),
                  model_max_length=32).save_pretrained(folder)
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=16,
                         intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32,
                         bos_token_id=vocab_size - 2,
                         eos_token_id=vocab_size - 1,
                         pad_token_id=vocab_size - 1),
        vision_config=dict(hidden_size=16, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=16),
        projection_dim=8)
    CLIPModel(cfg).save_pretrained(folder)
    CLIPImageProcessor(size=dict(shortest_edge=32),
                       crop_size=dict(height=32, width=32)).save_pretrained(
                           folder)
    return folder


def test_pickscore_from_local_folder(tmp_path):
    folder = _tiny_pickscore(str(tmp_path / 'pick'))
    r = MODELS.build(dict(type='PickScore', model_path=folder))
    torch.manual_seed(2)
    images = torch.rand(3, 3, 32, 32)
    got = r.score(images, PROMPTS)
    tok = r.tokenizer(PROMPTS, padding=True, truncation=True,
                      return_tensors='pt')
    with torch.no_grad():
        x = to_model_pixels(images, 32, r.mean, r.std)
        out = r.model(pixel_values=x, **tok)
    torch.testing.assert_close(got, torch.diagonal(out.logits_per_image))
    grid = r.score_grid(images, [PROMPTS] * 3)
    torch.testing.assert_close(grid, out.logits_per_image, rtol=1e-4,
                               atol=1e-4)
    with pytest.raises(CheckpointError, match='not found'):
        PickScore(str(tmp_path / 'nope'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'config.json').write_text('{}')
    with pytest.raises(CheckpointError, match='no weights'):
        PickScore(str(empty))


def test_blip2_itm_and_itc(tmp_path):
    import transformers as tf
    folder = str(tmp_path / 'blip2')
    words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + list(
        'abcdefghijklmnopqrstuvwxyz') + ['photo', 'of', 'an', 'apple', 'cat']
    import os
    os.makedirs(folder)
    with open(osp.join(folder, 'vocab.txt'), 'w') as f:
        f.write('\n'.join(words) + '\n')
    tok = tf.BertTokenizer(osp.join(folder, 'vocab.txt'))
    torch.manual_seed(0)
    cfg = tf.Blip2Config(
        vision_config=dict(hidden_size=16, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=16),
        qformer_config=dict(vocab_size=len(tok), hidden_size=16,
                            intermediate_size=32, num_hidden_layers=1,
                            num_attention_heads=2, encoder_hidden_size=16,
                            max_position_embeddings=32,
                            use_qformer_text_input=True),
        num_query_tokens=4, image_text_hidden_size=8)
    tf.Blip2ForImageTextRetrieval(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    tf.BlipImageProcessor(size=dict(height=32, width=32)).save_pretrained(
        folder)
    images = torch.rand(3, 3, 32, 32)
    itm = BLIP2Score(folder, batch_size=2).score(images, PROMPTS)
    assert itm.shape == (3, ) and ((itm > 0) & (itm < 1)).all()
    itc = BLIP2Score(folder, head='itc', batch_size=2)
    both = itc.score(images, PROMPTS)
    one = itc.score(images[2:], PROMPTS[2:])  # batch-independent
    torch.testing.assert_close(both[2:], one, rtol=1e-4, atol=1e-4)
    with pytest.raises(ConfigError, match='head'):
        BLIP2Score(folder, head='cosine')
    with pytest.raises(CheckpointError, match='not found'):
        BLIP2Score(str(tmp_path / 'nope'))


def test_image_reward_names_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match='ImageReward.pt'):
        ImageRewardScore(str(tmp_path / 'ImageReward.pt'),
                         str(tmp_path / 'med_config.json'))
    ckpt, med = tmp_path / 'ImageReward.pt', tmp_path / 'med_config.json'
    ckpt.write_bytes(b'')
    with pytest.raises(CheckpointError, match='med_config.json'):
        ImageRewardScore(str(ckpt), str(med))
    med.write_text('{}')
    with pytest.raises(ConfigError, match='lacks'):
        ImageRewardScore(str(ckpt), str(med))
