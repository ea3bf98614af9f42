"""Reward models, contrastive prompts and TextNorm calibration."""
