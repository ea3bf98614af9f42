"""Smoothed classifiers and certification statistics."""
