"""CAT-RS with precomputed smoothed predictions: tool -> dataset -> loss."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from rgl.registry import DATASETS, MODELS
from rgl.utils import ConfigError, DataError

CFG = 'configs/smoothing/gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py'


@pytest.mark.slow
def test_tool_dataset_and_catrs_confidence(tool, tmp_path):
    init_default_scope('rgl')
    from mmengine.config import Config
    cfg = Config.fromfile(CFG)
    model = MODELS.build(cfg.model)
    ckpt = tmp_path / 'cls.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    out = tmp_path / 'pred.npy'
    res = tool(['tools/smooth_predictions.py', CFG, str(ckpt), '--sigma',
                '0.25', '--n', '64', '--batch', '512', '--split', 'test',
                '--out', str(out)])
    assert res.returncode == 0, res.stderr[-3000:]
    preds = np.load(out)
    assert preds.shape == (360, 10)
    np.testing.assert_allclose(preds.sum(1), 1.0, rtol=1e-6)
    assert set(np.unique(preds * 64)) <= set(range(65))  # vote fractions
    # image i draws from its own stream (seed, i): another --batch (other
    # images share the batches, blocks cut elsewhere) gives the same votes
    again = tmp_path / 'pred_b.npy'
    res = tool(['tools/smooth_predictions.py', CFG, str(ckpt), '--sigma',
                '0.25', '--n', '64', '--batch', '100', '--split', 'test',
                '--out', str(again)])
    assert res.returncode == 0, res.stderr[-3000:]
    np.testing.assert_array_equal(np.load(again), preds)

    ds = DATASETS.build(
        dict(type='SmoothedPredictionDataset', predictions=str(out),
             dataset=dict(type='DigitsDataset', split='test', img_size=16)))
    sample = ds[5]['data_samples']
    torch.testing.assert_close(sample.smoothed_pred,
                               torch.from_numpy(preds[5]))

    # CAT-RS reads the confidence p̂_y from the samples
    catrs = MODELS.build(
        dict(cfg.model, loss_fields=('smoothed_pred', ),
             train_loss=dict(type='CATRSLoss', sigma=0.5, num_noise=2,
                             lbd=1.0, epsilon=0.5, num_steps=1)))
    seen = {}
    original = catrs.train_loss.forward

    def spy(classifier_fn, inputs, labels, smoothed_pred=None):
        seen['pred'] = smoothed_pred
        return original(classifier_fn, inputs, labels, smoothed_pred)

    catrs.train_loss.forward = spy
    items = [ds[i] for i in range(4)]
    data = catrs.data_preprocessor(
        dict(inputs=[it['inputs'] for it in items],
             data_samples=[it['data_samples'] for it in items]), True)
    losses = catrs(**data, mode='loss')
    assert {'loss_low', 'loss_high'} <= set(losses)
    torch.testing.assert_close(seen['pred'], torch.from_numpy(preds[:4]))

    with pytest.raises(DataError, match='expected \\(1437'):
        DATASETS.build(
            dict(type='SmoothedPredictionDataset', predictions=str(out),
                 dataset=dict(type='DigitsDataset', split='train')))
    plain = [DATASETS.build(dict(type='DigitsDataset', split='test',
                                 img_size=16))[0]]
    data = catrs.data_preprocessor(
        dict(inputs=[plain[0]['inputs']],
             data_samples=[plain[0]['data_samples']]), True)
    with pytest.raises(ConfigError, match='SmoothedPredictionDataset'):
        catrs(**data, mode='loss')
