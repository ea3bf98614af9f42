"""One-shot denoisers ``denoise(x_noisy, sigma) -> x_hat``."""
