"""The shared sample grid: one column per class, its name on top."""
import numpy as np
import torch

from rgl.visualization import draw_sample_grid, per_class_indices
from rgl.visualization.grid import _font


def layout(cell, rows, cols, pad=2, header=True):
    font = _font(max(10, min(16, cell // 3)))
    head = font.getbbox('Ag0')[3] + 2 * pad if header else 0
    return head, cols * (cell + pad) + pad, head + rows * (cell + pad) + pad


def test_one_column_per_class_with_names():
    labels = [3, 1, 3, 0, 1, 3, 0]
    # image i is a flat grey level, so each cell tells which image it is
    levels = torch.tensor([20., 50, 80, 110, 140, 170, 200]) / 255
    images = levels.view(-1, 1, 1, 1).expand(-1, 1, 8, 8)
    img = np.asarray(draw_sample_grid(images, labels,
                                      class_names=['zero', 'one', 'two',
                                                   'three']))
    # 8x8 samples are enlarged x4 to 32x32; 3 classes -> 3 columns of 3
    head, width, height = layout(32, rows=3, cols=3)
    assert img.shape == (height, width, 3)
    columns = [[0, 2, 5], [1, 4], [3, 6]]  # 3, 1, 0: first appearance
    for c, column in enumerate(columns):
        left = 2 + c * 34
        for r in range(3):
            top = head + 2 + r * 34
            cell = img[top:top + 32, left:left + 32]
            if r < len(column):
                expected = round(float(levels[column[r]] * 255))
                assert (cell == expected).all(), (c, r)
            else:
                assert (cell == 255).all()  # a short column stays blank
        title = img[:head, left:left + 32]
        assert (title < 128).any(), f'no class name above column {c}'
    # the titles differ: they are the classes' names
    assert not np.array_equal(img[:head, 2:34], img[:head, 36:68])


def test_unconditional_grid_is_square_without_titles():
    images = torch.rand(5, 3, 40, 40)
    img = np.asarray(draw_sample_grid(images))
    _, width, height = layout(40, rows=3, cols=3, header=False)
    assert img.shape == (2 * 42 + 2, 3 * 42 + 2, 3)
    cell = img[2:42, 2:42]
    np.testing.assert_array_equal(
        cell, (images[0].permute(1, 2, 0).numpy() * 255).round())


def test_uint8_nhwc_input_as_in_samples_npz():
    x = torch.rand(4, 1, 16, 16)
    u8 = (x * 255).round().to(torch.uint8).expand(-1, 3, -1, -1)
    a = np.asarray(draw_sample_grid(x, [0, 1, 0, 1]))
    b = np.asarray(draw_sample_grid(u8.permute(0, 2, 3, 1).numpy(),
                                    [0, 1, 0, 1]))
    np.testing.assert_array_equal(a, b)


def test_per_class_indices():
    labels = [5, 2, 5, 5, 7, 2, 9, 2]
    assert per_class_indices(labels, 2) == [0, 2, 1, 5, 4, 6]
    assert per_class_indices(labels, 1, max_classes=2) == [0, 1]
