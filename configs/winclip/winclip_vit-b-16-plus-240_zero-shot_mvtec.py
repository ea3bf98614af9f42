# WinCLIP, zero-shot, on MVTec AD (Jeong et al., CVPR 2023).
# Weights: open_clip ViT-B-16-plus-240 trained on LAION-400M (epoch 31),
# read from this local file (the release file vit_b_16_plus_240-laion400m_
# e31-8fb26589.pt of open_clip v0.2-weights); nothing is downloaded.
_base_ = ['../_base_/datasets/mvtec_ad.py', '../_base_/default_runtime.py']

clip_checkpoint = 'checkpoints/open_clip/vit_b_16_plus_240-laion400m_e31.pt'

model = dict(
    type='WinCLIP',
    clip=dict(model_name='ViT-B-16-plus-240', checkpoint=clip_checkpoint),
    prompt=dict(type='CompositionalPromptEnsemble'),
    class_name=None,  # None: the dataset's category ("metal_nut" -> "metal nut")
    scales=(2, 3),  # 2x2 and 3x3 patch windows on the 15x15 token grid
    temperature=0.07)

# Resize to the CLIP input (bicubic, antialiased) in the loader workers;
# maps come back at the original resolution of each image.
test_dataloader = dict(dataset=dict(img_size=240))

# Multi-process evaluation (--launcher pytorch): the frozen CLIP needs no
# DDP gradient sync; each rank predicts its shard.
model_wrapper_cfg = dict(type='rgl.InferenceModelWrapper')
