# DINOv2-B for REPA at 512² images: 448² input -> 32 x 32 tokens.
encoder = dict(type='DINOv2Encoder', arch='vit_b', grid_size=32,
               checkpoint='checkpoints/dinov2/dinov2_vitb14_pretrain.pth')
