"""Official DiT / SiT / REPA layouts → rgl, with identical outputs.

``OfficialNet`` is a compact stand-in for the official models, written from
their published structure: timm's PatchEmbed, Attention and Mlp (the modules
the official repos import), adaLN-Zero blocks, a label table with the null
row, and REPA's projector MLPs after block ``encoder_depth``.
"""
import argparse
import importlib.util
import math
import os.path as osp

import pytest
import torch
from timm.models.vision_transformer import Attention, Mlp, PatchEmbed
from torch import nn

from rgl.models.backbones.dit_blocks import sincos_2d
from rgl.registry import MODELS
from rgl.utils import load_state_dict_file
from rgl.utils.errors import CheckpointError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location(
    'converter',
    osp.join(ROOT, 'tools/model_converters/dit_sit_repa_to_rgl.py'))
converter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converter)


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class OfficialBlock(nn.Module):

    def __init__(self, d, heads, qk_norm):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        # norm_layer was timm's default (LayerNorm) when REPA was written
        self.attn = Attention(d, num_heads=heads, qkv_bias=True,
                              qk_norm=qk_norm, norm_layer=nn.LayerNorm)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(in_features=d, hidden_features=4 * d,
                       act_layer=lambda: nn.GELU(approximate='tanh'), drop=0)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))

    def forward(self, x, c):
        s1, g1, a1, s2, g2, a2 = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + a1.unsqueeze(1) * self.attn(modulate(self.norm1(x), s1, g1))
        return x + a2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), s2, g2))


class OfficialNet(nn.Module):

    def __init__(self, size=8, p=2, c=4, d=384, depth=3, classes=10,
                 out=4, qk_norm=False, z_dims=(), encoder_depth=2,
                 chunk_sigma=False):
        super().__init__()
        self.p, self.out, self.c = p, out, c
        self.chunk_sigma, self.encoder_depth = chunk_sigma, encoder_depth
        self.x_embedder = PatchEmbed(size, p, c, d, bias=True)
        self.t_embedder = nn.Module()
        self.t_embedder.mlp = nn.Sequential(nn.Linear(256, d), nn.SiLU(),
                                            nn.Linear(d, d))
        self.y_embedder = nn.Module()
        self.y_embedder.embedding_table = nn.Embedding(classes + 1, d)
        g = size // p
        self.pos_embed = nn.Parameter(sincos_2d(d, g)[None],
                                      requires_grad=False)
        self.blocks = nn.ModuleList(
            [OfficialBlock(d, converter.HEADS[d], qk_norm)
             for _ in range(depth)])
        self.projectors = nn.ModuleList([
            nn.Sequential(nn.Linear(d, 64), nn.SiLU(), nn.Linear(64, 64),
                          nn.SiLU(), nn.Linear(64, z)) for z in z_dims])
        self.final_layer = nn.Module()
        self.final_layer.norm_final = nn.LayerNorm(
            d, elementwise_affine=False, eps=1e-6)
        self.final_layer.linear = nn.Linear(d, p * p * out)
        self.final_layer.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(d, 2 * d))

    def t_embed(self, t):
        half = 128
        freqs = torch.exp(-math.log(10000) * torch.arange(half) / half)
        args = t[:, None].float() * freqs[None]
        return self.t_embedder.mlp(torch.cat([args.cos(), args.sin()], -1))

    def forward(self, x, t, y):
        x = self.x_embedder(x) + self.pos_embed
        n, tokens, d = x.shape
        c = self.t_embed(t) + self.y_embedder.embedding_table(y)
        zs = []
        for i, block in enumerate(self.blocks):
            x = block(x, c)
            if i + 1 == self.encoder_depth:
                zs = [proj(x.reshape(-1, d)).reshape(n, tokens, -1)
                      for proj in self.projectors]
        shift, scale = self.final_layer.adaLN_modulation(c).chunk(2, dim=1)
        x = self.final_layer.linear(
            modulate(self.final_layer.norm_final(x), shift, scale))
        g = int(tokens**0.5)
        x = x.reshape(n, g, g, self.p, self.p, self.out)
        x = torch.einsum('nhwpqc->nchpwq', x).reshape(
            n, self.out, g * self.p, g * self.p)
        if self.chunk_sigma:
            x = x[:, :self.c]
        return x, zs


def randomized(net, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return net.eval()


def inputs(n=3, c=4, size=8, t_scale=1.0):
    gen = torch.Generator().manual_seed(1)
    return (torch.randn(n, c, size, size, generator=gen),
            torch.rand(n, generator=gen) * t_scale,
            torch.tensor([0, 7, 10])[:n])


def test_repa_last_pt_round_trip(tmp_path):
    net = randomized(OfficialNet(z_dims=(24, 16), qk_norm=True))
    ema = randomized(OfficialNet(z_dims=(24, 16), qk_norm=True), seed=1)
    src = str(tmp_path / 'last.pt')
    torch.save(dict(model=net.state_dict(), ema=ema.state_dict(),
                    opt=dict(state={}, param_groups=[]),
                    args=argparse.Namespace(model='SiT-XL/2', proj_coeff=0.5,
                                            encoder_depth=2),
                    steps=4000000), src)
    dst = str(tmp_path / 'repa_rgl.pth')
    assert converter.main([src, dst]) is None
    meta = torch.load(dst, weights_only=True)['meta']
    assert meta['source'] == 'repa' and meta['weights'] == 'ema'
    model = MODELS.build(meta['model']).eval()
    model.load_state_dict(load_state_dict_file(dst), strict=True)
    x, t, y = inputs()
    with torch.no_grad():
        ref, zs = ema(x, t, y)
        out = model.network(x, t, y)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    aligner = model.aligners[0]
    assert aligner.tap.name == 'blocks.1'  # args.encoder_depth = 2
    with torch.no_grad():
        model.backbone(x, t, y)
        preds = aligner.project(aligner.tap.pop())
    for p, z in zip(preds, zs):
        torch.testing.assert_close(p, z, atol=1e-5, rtol=0)


def test_dit_release_round_trip(tmp_path):
    net = randomized(OfficialNet(out=8))  # learned sigma: 2C channels
    src = str(tmp_path / 'DiT-XL-2-256x256.pt')
    torch.save(net.state_dict(), src)
    ckpt, model = converter.convert(src)
    assert ckpt['meta']['source'] == 'dit'
    assert ckpt['meta']['model']['type'] == 'DDPM'
    x, t, y = inputs(t_scale=999)
    with torch.no_grad():
        torch.testing.assert_close(model.eval().backbone(x, t, y),
                                   net(x, t, y)[0], atol=1e-5, rtol=0)


def test_sit_release_round_trip_and_time_convention(tmp_path):
    net = randomized(OfficialNet(out=8, chunk_sigma=True))
    src = str(tmp_path / 'SiT-XL-2-256x256.pt')
    torch.save(dict(ema=net.state_dict()), src)
    ckpt, model = converter.convert(src, source='sit')
    model.eval()
    x, t, y = inputs()
    with torch.no_grad():
        ref = net(x, t, y)[0]
        torch.testing.assert_close(model.backbone(x, t, y), ref, atol=1e-5,
                                   rtol=0)
        # rgl's samplers use t = 1 as noise: v_rgl(x, t) = −v_SiT(x, 1 − t)
        torch.testing.assert_close(model.network(x, 1 - t, y), -ref,
                                   atol=1e-5, rtol=0)


def test_strict_errors_name_the_file(tmp_path):
    net = randomized(OfficialNet(out=8))
    state = net.state_dict()
    state['blocks.0.extra'] = torch.zeros(1)
    src = str(tmp_path / 'bad.pt')
    torch.save(state, src)
    with pytest.raises(CheckpointError, match='bad.pt.*blocks.0.extra'):
        converter.convert(src)
    del state['blocks.0.extra'], state['pos_embed']
    torch.save(state, src)
    with pytest.raises(CheckpointError, match='bad.pt'):
        converter.convert(src)
    torch.save(dict(opt={}), src)
    with pytest.raises(CheckpointError, match='no `ema`'):
        converter.convert(src)
