# CLIP ViT-L/14 image tower (--enc-type clip-vit-L), CLIP mean/std, 224².
# Weights: an open_clip/OpenAI state dict (visual.* keys), e.g. the
# open_clip_pytorch_model.bin of ViT-L-14 (openai).
encoder = dict(type='CLIPEncoder', model_name='ViT-L-14', grid_size=16,
               checkpoint='checkpoints/clip/ViT-L-14_openai.bin')
