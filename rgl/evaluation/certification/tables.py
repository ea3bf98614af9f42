"""Markdown and LaTeX tables of several certification runs.

Rows are runs, columns the ACR and the certified accuracy (%) at each
radius; the best value of each column is bold.
"""


def _best(summaries, getter):
    values = [getter(s) for s in summaries.values()]
    return max(values) if values else None


def markdown_table(summaries, radii):
    """``summaries``: ``{run name: summarize(...)}`` in display order."""
    head = '| run | ACR | ' + ' | '.join(f'r={r:g}' for r in radii) + ' |'
    rule = '|---|---:|' + '---:|' * len(radii)
    best_acr = _best(summaries, lambda s: round(s['acr'], 3))
    best = [_best(summaries, lambda s, i=i: round(
        100 * s['certified_accuracy'][i], 1)) for i in range(len(radii))]
    lines = [head, rule]
    for name, s in summaries.items():
        acr = round(s['acr'], 3)
        cells = [f'**{acr:.3f}**' if acr == best_acr and len(summaries) > 1
                 else f'{acr:.3f}']
        for i, a in enumerate(s['certified_accuracy']):
            v = round(100 * a, 1)
            cells.append(f'**{v:.1f}**' if v == best[i] and len(summaries) > 1
                         else f'{v:.1f}')
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def latex_table(summaries, radii, caption=None):
    cols = 'l' + 'r' * (len(radii) + 1)
    best_acr = _best(summaries, lambda s: round(s['acr'], 3))
    best = [_best(summaries, lambda s, i=i: round(
        100 * s['certified_accuracy'][i], 1)) for i in range(len(radii))]
    lines = [r'\begin{table}[t]', r'\centering',
             rf'\begin{{tabular}}{{{cols}}}',
             r'\toprule',
             'Run & ACR & ' + ' & '.join(f'$r={r:g}$' for r in radii) +
             r' \\', r'\midrule']

    def cell(v, fmt, is_best):
        text = format(v, fmt)
        return rf'\textbf{{{text}}}' if is_best and len(summaries) > 1 \
            else text

    for name, s in summaries.items():
        acr = round(s['acr'], 3)
        cells = [cell(acr, '.3f', acr == best_acr)]
        for i, a in enumerate(s['certified_accuracy']):
            v = round(100 * a, 1)
            cells.append(cell(v, '.1f', v == best[i]))
        escaped = name.replace('_', r'\_')
        lines.append(f'{escaped} & ' + ' & '.join(cells) + r' \\')
    lines += [r'\bottomrule', r'\end{tabular}']
    if caption:
        lines.append(rf'\caption{{{caption}}}')
    lines.append(r'\end{table}')
    return '\n'.join(lines) + '\n'
