"""Nuisance-extended information bottleneck (NIB)."""
