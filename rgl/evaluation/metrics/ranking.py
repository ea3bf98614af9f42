"""Ranking metrics of a reward model against human labels, per prompt,
as in TIA2's ``alignment_scores_*.json`` (TextNorm).

For one prompt with images ``x_1..x_n``, rewards ``s_i`` and three binary
votes per image:

- the binary label is the majority vote (>= 2 of 3); the released
  ``human`` field is its mean over the prompt's images;
- AUROC and AUPRC (average precision) of ``s`` against the binary labels
  (rgl.evaluation's implementations);
- AP@k: the mean of precision@i over the positive images among the k
  highest rewards (0 when there are none);
- Spearman's ρ and Kendall's τ-b between ``s`` and the fraction of yes
  votes (scipy).

A prompt whose images are all positive or all negative has no AUROC; it is
left out, as in the released files.
"""
import numpy as np

from .anomaly import auroc, average_precision

METRICS = ('auroc', 'auprc', 'ap5', 'ap10', 'ap25', 'spearman', 'kendall')


def majority(votes):
    """Binary labels ``(n,)`` from votes ``(n, V)``: yes when more than
    half of the votes are yes."""
    votes = np.asarray(votes, dtype=np.float64)
    return votes.sum(1) * 2 > votes.shape[1]


def ap_at_k(scores, labels, k):
    """Average of precision@i over the ranks i <= k holding a positive,
    ranked by decreasing score (ties keep input order)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind='stable')
    hits = np.asarray(labels, dtype=bool)[order][:k]
    if not hits.any():
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def prompt_metrics(scores, votes):
    """All metrics of one prompt, or ``None`` when its labels are all
    equal (undefined AUROC)."""
    from scipy import stats
    scores = np.asarray(scores, dtype=np.float64)
    votes = np.asarray(votes, dtype=np.float64)
    labels = majority(votes)
    if labels.all() or not labels.any():
        return None
    graded = votes.mean(1)
    out = dict(auroc=auroc(scores, labels),
               auprc=average_precision(scores, labels))
    for k in (5, 10, 25):
        out[f'ap{k}'] = ap_at_k(scores, labels, k)
    out['spearman'] = float(stats.spearmanr(scores, graded).statistic)
    out['kendall'] = float(stats.kendalltau(scores, graded).statistic)
    return out


def alignment_scores(groups, scores_by_model):
    """Per-prompt metrics in the layout of ``alignment_scores_*.json``.

    Args:
        groups (dict): prompt -> list of ``(image, votes)``.
        scores_by_model (dict): model name -> prompt -> rewards ``(n_p,)``
            in the order of ``groups[prompt]``.

    Returns:
        dict: prompt -> ``{"human": mean majority label, model: {metric:
        value}}`` for the prompts with both labels.
    """
    out = {}
    for prompt, items in groups.items():
        votes = np.array([v for _, v in items], dtype=np.float64)
        labels = majority(votes)
        if labels.all() or not labels.any():
            continue
        entry = dict(human=float(labels.mean()))
        for name, per_prompt in scores_by_model.items():
            entry[name] = prompt_metrics(per_prompt[prompt], votes)
        out[prompt] = entry
    return out


def prompt_average(scores):
    """Average each model's metrics over the prompts of an
    ``alignment_scores`` mapping.

    Returns:
        dict: model -> metric -> mean over the prompts that have it.
    """
    sums = {}
    for entry in scores.values():
        for model, values in entry.items():
            if not isinstance(values, dict):
                continue
            for metric in METRICS:
                if metric in values and values[metric] is not None:
                    sums.setdefault(model, {}).setdefault(metric, []).append(
                        values[metric])
    return {m: {k: float(np.mean(v)) for k, v in d.items()}
            for m, d in sums.items()}


def format_table(averages, metrics=METRICS, title=None):
    """A plain-text table: one row per model, one column per metric."""
    names = list(averages)
    width = max([len(n) for n in names] + [len('model')])
    lines = [title] if title else []
    lines.append('model'.ljust(width) + ''.join(f'{m:>10}' for m in metrics))
    for n in names:
        lines.append(n.ljust(width) + ''.join(
            f'{averages[n][m]:>10.3f}' if m in averages[n] else f'{"-":>10}'
            for m in metrics))
    return '\n'.join(lines)
