"""Pictures of results: sample grids labelled by class."""
from .grid import (dataset_class_names, draw_sample_grid, grid_selection,
                   per_class_indices, save_sample_grid)

__all__ = [
    'dataset_class_names', 'draw_sample_grid', 'grid_selection',
    'per_class_indices', 'save_sample_grid'
]
