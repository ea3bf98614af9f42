"""MetaMAE: modality-agnostic tokenisers and the meta-learned masked auto-encoder."""
