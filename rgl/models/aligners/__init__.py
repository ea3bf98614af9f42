"""Representation aligners (REPA) bound to a feature tap of any backbone."""
