"""Certified accuracy against radius, one curve per run (PNG)."""
import numpy as np


def plot_certified_accuracy(runs, path, max_radius=None, step=0.01,
                            title=None):
    """``runs``: ``{name: rows}`` (as read by ``read_certify_tsv``)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from .analysis import certified_accuracy
    if max_radius is None:
        max_radius = max(float(r['radius'].max()) for r in runs.values())
        max_radius = max(max_radius * 1.05, step)
    radii = np.arange(0, max_radius + step, step)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, rows in runs.items():
        ax.plot(radii, certified_accuracy(rows['radius'], rows['correct'],
                                          radii), label=name)
    ax.set_xlabel(r'L2 radius $r$')
    ax.set_ylabel('certified accuracy')
    ax.set_ylim(0, 1)
    ax.set_xlim(0, max_radius)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
