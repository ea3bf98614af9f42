# MoCo v3 ViT-B/16 (--enc-type mocov3-vit-b): 256² input -> 16 x 16 tokens.
# Weights: the official vit-b-300ep.pth.tar (module.base_encoder.* keys).
encoder = dict(type='MoCoV3Encoder', arch='vit_b', grid_size=16,
               checkpoint='checkpoints/mocov3/vit-b-300ep.pth.tar')
