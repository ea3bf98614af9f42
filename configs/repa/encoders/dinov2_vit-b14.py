# REPA's default target: DINOv2 ViT-B/14 (--enc-type dinov2-vit-b), 224² input
# -> 16 x 16 = 256 tokens of 768-d (SiT-XL/2's grid at 256² images).
# Weights: the official torch.hub file dinov2_vitb14_pretrain.pth (or timm's
# vit_base_patch14_dinov2.lvd142m), downloaded once by you to this path.
encoder = dict(type='DINOv2Encoder', arch='vit_b', registers=False,
               grid_size=16,
               checkpoint='checkpoints/dinov2/dinov2_vitb14_pretrain.pth')
