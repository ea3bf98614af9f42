import torch

from rgl.models.anomaly.windows import (coverage_matrix,
                                        harmonic_aggregation, harmonic_mean,
                                        window_indices)


def test_window_indices_by_hand():
    # 3x3 grid, 2x2 windows at stride 1: four windows, row-major.
    idx = window_indices((3, 3), 2)
    assert idx.tolist() == [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7],
                            [4, 5, 7, 8]]
    # the paper's 15x15 grid: 196 small and 169 mid windows
    assert window_indices((15, 15), 2).shape == (196, 4)
    assert window_indices((15, 15), 3).shape == (169, 9)
    assert window_indices((4, 5), 3).shape == (6, 9)


def test_harmonic_aggregation_matches_definition():
    idx = window_indices((3, 3), 2)
    cover = coverage_matrix(idx, 9)
    scores = torch.tensor([[0.2, 0.4, 0.5, 0.8]])
    out = harmonic_aggregation(scores, cover)[0]
    # patch 0: only window 0; patch 1: windows 0, 1; centre: all four
    assert torch.isclose(out[0], torch.tensor(0.2))
    assert torch.isclose(out[1], torch.tensor(2 / (1 / .2 + 1 / .4)))
    assert torch.isclose(out[4], torch.tensor(
        4 / (1 / .2 + 1 / .4 + 1 / .5 + 1 / .8)))
    assert torch.isclose(out[8], torch.tensor(0.8))
    # a loop over patches gives the same for random scores
    rand = torch.rand(3, 4) + 0.01
    batched = harmonic_aggregation(rand, cover)
    for p in range(9):
        w = cover[:, p].bool()
        ref = w.sum() / (1 / rand[:, w]).sum(1)
        torch.testing.assert_close(batched[:, p], ref)


def test_zero_score_window_gives_zero_and_harmonic_mean():
    cover = coverage_matrix(window_indices((3, 3), 2), 9)
    out = harmonic_aggregation(torch.tensor([[0.0, 1, 1, 1]]), cover)
    assert out[0, 0] < 1e-9 and torch.isfinite(out).all()
    assert torch.isclose(out[0, 8], torch.tensor(1.0))
    maps = torch.tensor([[0.5], [0.25], [1.0]])
    assert torch.isclose(harmonic_mean(maps)[0],
                         torch.tensor(3 / (2 + 4 + 1.0)))
