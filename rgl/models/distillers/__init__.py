"""Collaborative score distillation: score sources, kernels and the SVGD distiller."""
