# DINOv2 ViT-L/14 (--enc-type dinov2-vit-l): 1024-d tokens.
encoder = dict(type='DINOv2Encoder', arch='vit_l', grid_size=16,
               checkpoint='checkpoints/dinov2/dinov2_vitl14_pretrain.pth')
