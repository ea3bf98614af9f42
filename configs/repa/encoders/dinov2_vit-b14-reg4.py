# DINOv2 ViT-B/14 with 4 registers (dinov2_vitb14_reg4_pretrain.pth).
encoder = dict(type='DINOv2Encoder', arch='vit_b', registers=True,
               grid_size=16,
               checkpoint='checkpoints/dinov2/dinov2_vitb14_reg4_pretrain.pth')
