"""Noise-robust training objectives (Gaussian, Consistency, SmoothAdv, ...)."""
