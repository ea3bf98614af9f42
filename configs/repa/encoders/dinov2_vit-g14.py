# DINOv2 ViT-g/14 (--enc-type dinov2-vit-g): 1536-d tokens, SwiGLU MLP.
encoder = dict(type='DINOv2Encoder', arch='vit_g', grid_size=16,
               checkpoint='checkpoints/dinov2/dinov2_vitg14_pretrain.pth')
