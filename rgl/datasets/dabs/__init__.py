"""Datasets of other modalities for MetaMAE: DABS PAMAP2/HIGGS and digits as a table."""
