# CLIP ViT-L/14 image tower (--enc-type clip-vit-L: OpenAI's weights, which
# use QuickGELU, hence the -quickgelu architecture), CLIP mean/std, 224².
# Weights: a plain state dict (visual.* keys; text tower ignored), e.g.
# open_clip's open_clip_pytorch_model.bin of ViT-L-14 (openai). OpenAI's
# own ViT-L-14.pt is a TorchScript archive, which rgl does not unpickle:
# re-save its state_dict() once with torch.save.
# For LAION-trained open_clip weights use model_name='ViT-L-14' (plain GELU).
encoder = dict(
    type='CLIPEncoder',
    model_name='ViT-L-14-quickgelu',
    grid_size=16,
    checkpoint='checkpoints/clip/ViT-L-14_openai/open_clip_pytorch_model.bin')
