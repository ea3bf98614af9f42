"""Open-set splits for novelty detection: hold classes out of training."""
from torch.utils.data import Dataset

from rgl.registry import DATASETS
from rgl.utils.errors import ConfigError


@DATASETS.register_module()
class HeldOutClassDataset(Dataset):
    """Keep the known classes of a labelled dataset, or only the novel ones.

    The known classes are relabelled ``0 .. K-1`` in their original order,
    so a classifier trained on ``keep='known'`` has K outputs. With
    ``keep='novel'`` the samples of ``held_out`` classes are returned with
    their original labels (a novelty detector never reads them).

    Args:
        dataset (dict | Dataset): an rgl labelled dataset (e.g. digits).
        held_out (Sequence[int]): labels of the novel classes.
        keep (str): ``'known'`` or ``'novel'``.
    """

    def __init__(self, dataset, held_out, keep='known'):
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        if keep not in ('known', 'novel'):
            raise ConfigError("HeldOutClassDataset.keep must be 'known' or "
                              f"'novel', got {keep!r}")
        classes = tuple(getattr(dataset, 'classes', ()) or
                        dataset.metainfo.get('classes', ()))
        held_out = tuple(int(c) for c in held_out)
        bad = [c for c in held_out if not 0 <= c < len(classes)]
        if not held_out or bad:
            raise ConfigError(
                f'HeldOutClassDataset.held_out must name classes in '
                f'0..{len(classes) - 1}, got {list(held_out)}')
        labels = [int(dataset.get_label(i)) for i in range(len(dataset))]
        novel = set(held_out)
        want_novel = keep == 'novel'
        self.indices = [
            i for i, y in enumerate(labels) if (y in novel) == want_novel
        ]
        known = [c for c in range(len(classes)) if c not in novel]
        self.relabel = {c: k for k, c in enumerate(known)}
        self.dataset, self.keep, self.held_out = dataset, keep, held_out
        self.classes = tuple(classes[c] for c in known)

    @property
    def metainfo(self):
        return dict(classes=self.classes)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, idx):
        item = self.dataset[self.indices[idx]]
        sample = item['data_samples']
        if self.keep == 'known':
            y = int(sample.gt_label.item())
            sample.set_gt_label(self.relabel[y])
        sample.set_metainfo(dict(sample_idx=idx))
        return item
