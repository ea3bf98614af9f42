"""MetaMAE meta-learner: the inner step's gradients against finite
differences, first order against second order, the MAE special case and
the config errors."""
import copy

import pytest
import torch

from rgl.models.meta import MetaMAE, nt_xent
from rgl.models.meta.masking import random_masking, support_mask
from rgl.models.meta.transformer import math_attention
from rgl.utils import ConfigError

ARCH = dict(embed_dim=16, depth=2, num_heads=2, decoder_embed_dim=8,
            decoder_depth=1, decoder_num_heads=2, dropout=0.0)
SEQ = dict(type='SequencePatchTokenizer', seq_len=12, patch_size=2,
           in_channels=3)


def make(first_order=False, **kw):
    torch.manual_seed(0)
    cfg = dict(tokenizer=SEQ, arch=ARCH, mask_ratio=0.5, inner_lr=0.5,
               s_ratio=0.5, reg_weight=1.0, first_order=first_order)
    cfg.update(kw)
    return MetaMAE(**cfg).double().train()


def batch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, 12, generator=g, dtype=torch.float64)
    noise = torch.rand(4, 6, generator=g, dtype=torch.float64)
    rand = torch.rand(4, 6, generator=g, dtype=torch.float64)
    return x, noise, rand


def total(model, x, noise, rand):
    out = model.loss_terms(x, noise=noise, support_rand=rand)
    return out['loss_rec'] + out['loss_con']


def encoder_params(model):
    return [model.tokenizer.proj.weight, model.blocks[0].attn.qkv.weight,
            model.blocks[1].mlp.fc2.weight]


def test_second_order_matches_finite_differences():
    model = make()
    x, noise, rand = batch()
    grads = torch.autograd.grad(total(model, x, noise, rand),
                                encoder_params(model))
    eps = 1e-6
    for param, grad in zip(encoder_params(model), grads):
        flat, flat_grad = param.data.view(-1), grad.reshape(-1)
        for i in (0, 7, 29):
            old = flat[i].item()
            flat[i] = old + eps
            up = total(model, x, noise, rand).item()
            flat[i] = old - eps
            down = total(model, x, noise, rand).item()
            flat[i] = old
            fd = (up - down) / (2 * eps)
            assert flat_grad[i].item() == pytest.approx(fd, rel=1e-6,
                                                        abs=1e-9)


def test_first_order_drops_exactly_the_second_order_term():
    second = make()
    first = copy.deepcopy(second)
    first.first_order = True
    x, noise, rand = batch()
    params2, params1 = encoder_params(second), encoder_params(first)
    g2 = torch.autograd.grad(total(second, x, noise, rand), params2)
    g1 = torch.autograd.grad(total(first, x, noise, rand), params1)

    # the second-order term, by hand: -α (∂L/∂Z*)ᵀ (∂g/∂Z) ∂Z/∂θ with
    # g = ∇_Z (B · L_in) and Z* = Z - α g
    m = second
    ids_keep, ids_restore, mask = random_masking(4, 6, m.mask_ratio,
                                                 noise=noise)
    target = m.target(x)
    latent = m.encode(x, ids_keep)
    support = support_mask(mask, m.grid, m.s_ratio, rand=rand)
    with math_attention():  # fused SDPA has no double backward
        pred = m.decode(latent, ids_restore)
    inner = m.recon_loss(pred, target, support)
    g, = torch.autograd.grad(inner * 4, latent, create_graph=True)
    adapted = latent - m.inner_lr * g
    loss = m.recon_loss(m.decode(adapted, ids_restore), target, mask)
    loss = loss + m.reg_weight * nt_xent(
        m.projector(latent[:, 1:].mean(1)),
        m.projector(adapted[:, 1:].mean(1)), m.temperature)
    assert loss.item() == pytest.approx(total(m, x, noise, rand).item(),
                                        rel=1e-12)
    v, = torch.autograd.grad(loss, adapted, retain_graph=True)
    hv, = torch.autograd.grad(g, latent, grad_outputs=v, retain_graph=True)
    term = torch.autograd.grad(latent, params2, grad_outputs=-m.inner_lr * hv)
    for a, b, t in zip(g1, g2, term):
        assert t.abs().max() > 1e-4  # the term is not negligible here
        torch.testing.assert_close(a + t, b, rtol=1e-9, atol=1e-12)


def test_inner_step_lowers_the_support_loss():
    model = make(inner_steps=1)
    x, noise, rand = batch()
    ids_keep, ids_restore, mask = random_masking(4, 6, 0.5, noise=noise)
    latent = model.encode(x, ids_keep)
    support = support_mask(mask, model.grid, model.s_ratio, rand=rand)
    target = model.target(x)
    model.inner_lr = 1e-3
    adapted, losses = model.adapt(latent, ids_restore, target, support)
    after = model.recon_loss(model.decode(adapted, ids_restore), target,
                             support)
    assert after < losses[0]


def test_plain_mae_is_the_same_code_without_inner_step():
    mae = make(inner_steps=0, reg_weight=0.0)
    assert mae.projector is None
    x, noise, rand = batch()
    out = mae.loss_terms(x, noise=noise)
    assert set(out) == {'loss_rec'}
    ids_keep, ids_restore, mask = random_masking(4, 6, 0.5, noise=noise)
    pred = mae.decode(mae.encode(x, ids_keep), ids_restore)
    want = ((pred - mae.target(x))**2).mean(-1)
    want = (want * mask).sum() / mask.sum()
    assert out['loss_rec'].item() == pytest.approx(want.item(), rel=1e-12)
    # a MetaMAE checkpoint (less the projector) loads into the MAE
    meta = make()
    state = {k: v for k, v in meta.state_dict().items()
             if not k.startswith('projector.')}
    mae.load_state_dict(state, strict=True)


def test_token_ids_reconstruct_with_cross_entropy():
    torch.manual_seed(0)
    model = MetaMAE(
        tokenizer=dict(type='TokenIdTokenizer', vocab_size=4, seq_len=10),
        arch=ARCH, mask_ratio=0.5, reg_weight=0.1)
    ids = torch.randint(0, 4, (3, 10))
    out = model.loss_terms(ids)
    # an untrained tied head is near uniform: CE close to log 4
    assert 0.5 < out['loss_rec'].item() < 3
    sum(v for k, v in out.items() if 'loss' in k).backward()
    assert model.tokenizer.proj.weight.grad.abs().sum() > 0
    assert model(ids, mode='tensor').shape == (3, 16)


def test_dabs_sizes():
    model = MetaMAE(tokenizer=dict(type='TabularTokenizer', num_features=28))
    assert len(model.blocks) == 12 and len(model.decoder_blocks) == 4
    assert model.blocks[0].attn.num_heads == 8
    assert model.blocks[0].mlp.fc1.out_features == 512  # mlp ratio 2
    assert model.decoder_embed.out_features == 128
    assert model.pos_drop.p == 0.1
    assert model.projector[0].out_features == 1024
    assert model.projector[-1].out_features == 128


@pytest.mark.parametrize('kw, key', [
    (dict(s_ratio=1.0), 'model.s_ratio'),
    (dict(s_ratio=-0.1), 'model.s_ratio'),
    (dict(mask_ratio=1.0), 'model.mask_ratio'),
    (dict(mask_ratio='0.5'), 'model.mask_ratio'),
    (dict(inner_steps=0), 'model.reg_weight'),
    (dict(arch='huge'), 'model.arch'),
    (dict(tokenizer=dict(SEQ, embed_dim=32)), 'embed_dim'),
])
def test_bad_config_names_the_key(kw, key):
    with pytest.raises(ConfigError, match=key):
        make(**kw)


def test_norm_target_normalises_each_token():
    model = make(norm_target=True)
    x, _, _ = batch()
    target = model.target(x)
    raw = model.tokenizer.target(x)
    want = (raw - raw.mean(-1, keepdim=True)) / (
        raw.var(-1, keepdim=True) + 1e-6).sqrt()
    torch.testing.assert_close(target, want)
    with pytest.raises(ConfigError, match='norm_target'):
        MetaMAE(tokenizer=dict(type='TokenIdTokenizer', vocab_size=4,
                               seq_len=8), arch=ARCH, norm_target=True)


def test_data_preprocessor_keeps_token_ids():
    from rgl.models.meta import ModalityDataPreprocessor
    pre = ModalityDataPreprocessor()
    ids = pre(dict(inputs=[torch.tensor([1, 2]), torch.tensor([3, 0])]))
    assert ids['inputs'].dtype == torch.int64
    assert ids['inputs'].tolist() == [[1, 2], [3, 0]]
    img = pre(dict(inputs=[torch.full((1, 2, 2), 255, dtype=torch.uint8)]))
    assert img['inputs'].dtype == torch.float32
    assert img['inputs'].eq(1).all()
