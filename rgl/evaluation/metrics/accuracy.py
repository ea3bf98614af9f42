import torch
from mmengine.evaluator import BaseMetric

from rgl.registry import METRICS


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy (%) of ``pred_score`` against ``gt_label``.

    Args:
        topk (int | Sequence[int]): the k values to report as
            ``accuracy/top{k}``.
    """

    default_prefix = 'accuracy'

    def __init__(self, topk=(1, ), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append(
                dict(score=sample['pred_score'].cpu(),
                     label=int(sample['gt_label'].reshape(-1)[0])))

    def compute_metrics(self, results):
        scores = torch.stack([r['score'] for r in results])
        labels = torch.tensor([r['label'] for r in results])
        ranked = scores.topk(max(self.topk), dim=1).indices
        hits = ranked == labels[:, None]
        return {
            f'top{k}': hits[:, :k].any(dim=1).float().mean().item() * 100
            for k in self.topk
        }
