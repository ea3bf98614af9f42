"""Readers of the TIA2 JSON files (Kim et al., ICLR 2024; Apache-2.0).

- ``human_labels_*.json``: image file -> ``{image, caption, human_labels}``
  with three binary votes per image;
- ``prompt_set_*.json``: prompt -> its contrastive prompts (read by
  :func:`rgl.models.rewards.load_prompt_set`);
- ``alignment_scores_*.json``: prompt -> ``{"human": ..., model: {metric:
  value}}``.
"""
import os.path as osp

from rgl.utils.errors import DataError
from rgl.utils.json_io import read_json_object


def load_human_labels(path):
    """Group TIA2 human labels by prompt.

    Returns:
        dict: prompt -> list of ``(image file name, [votes])`` in file
        order.

    Raises:
        DataError: a missing/malformed file, or an entry without
            ``caption`` or ``human_labels`` (named).
    """
    data = read_json_object(path, 'TIA2 human labels')
    groups = {}
    for key, entry in data.items():
        if not isinstance(entry, dict) or 'caption' not in entry or \
                'human_labels' not in entry:
            raise DataError(f'{path}: entry {key!r} needs `caption` and '
                            '`human_labels`')
        votes = entry['human_labels']
        if not isinstance(votes, list) or not votes or \
                any(v not in (0, 1) for v in votes):
            raise DataError(f'{path}: entry {key!r} has human_labels '
                            f'{votes!r}; expected a list of 0/1 votes')
        groups.setdefault(entry['caption'], []).append(
            (entry.get('image', key), votes))
    return groups


def check_images(groups, image_dir, labels_path='the labels file'):
    """Full paths of every image, in group order.

    Raises:
        DataError: naming the first image of ``labels_path`` that is not
            in ``image_dir``.
    """
    if not osp.isdir(image_dir):
        raise DataError(f'TIA2 image folder not found: {image_dir}')
    paths = {}
    for prompt, items in groups.items():
        paths[prompt] = []
        for name, _ in items:
            full = osp.join(image_dir, name)
            if not osp.isfile(full):
                raise DataError(f'{labels_path} lists image {name!r} '
                                f'(prompt {prompt!r}), which is missing: '
                                f'{full}')
            paths[prompt].append(full)
    return paths


def load_alignment_scores(path):
    """A released ``alignment_scores_*.json``: prompt -> ``{"human":
    float, model: {metric: value, ...}}``."""
    data = read_json_object(path, 'TIA2 alignment scores')
    for prompt, entry in data.items():
        if not isinstance(entry, dict):
            raise DataError(f'{path}: the scores of {prompt!r} are not an '
                            'object')
    return data
