import torch

from rgl.models.backbones import DiT

TINY = dict(depth=2, hidden_size=32, num_heads=4, patch_size=4)


def test_dit_xl2_parameter_count():
    with torch.device('meta'):
        model = DiT(arch='XL/2')
    assert sum(p.numel() for p in model.parameters()) == 675129632
    assert model.y_embedder.embedding_table.num_embeddings == 1001


def test_dit_learned_sigma_output_and_zero_init():
    model = DiT(arch=TINY, input_size=16, in_channels=4, num_classes=5)
    x = torch.randn(3, 4, 16, 16)
    out = model(x, torch.tensor([0., 500., 999.]), torch.tensor([0, 4, 5]))
    assert out.shape == (3, 8, 16, 16)
    assert torch.count_nonzero(out) == 0


def test_dit_without_learned_sigma():
    model = DiT(arch='S/8', input_size=16, in_channels=4, learn_sigma=False)
    assert model.out_channels == 4
    assert model.final_layer.linear.out_features == 8 * 8 * 4
