# MAE ViT-L/16 (--enc-type mae-vit-l): the 256² image as is -> 16 x 16 tokens.
# Weights: the official mae_pretrain_vit_large.pth or an mmpretrain MAE
# checkpoint (backbone.* keys).
encoder = dict(type='MAEEncoder', arch='l', patch_size=16, grid_size=16,
               checkpoint='checkpoints/mae/mae_pretrain_vit_large.pth')
