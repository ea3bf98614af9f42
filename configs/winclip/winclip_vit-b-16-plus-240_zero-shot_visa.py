# WinCLIP, zero-shot, on VisA.
_base_ = ['../_base_/datasets/visa.py', '../_base_/default_runtime.py']

clip_checkpoint = 'checkpoints/open_clip/vit_b_16_plus_240-laion400m_e31.pt'

model = dict(
    type='WinCLIP',
    clip=dict(model_name='ViT-B-16-plus-240', checkpoint=clip_checkpoint),
    prompt=dict(type='CompositionalPromptEnsemble'),
    class_name=None,
    scales=(2, 3),
    temperature=0.07)

test_dataloader = dict(dataset=dict(img_size=240))

# Multi-process evaluation (--launcher pytorch): the frozen CLIP needs no
# DDP gradient sync; each rank predicts its shard.
model_wrapper_cfg = dict(type='rgl.InferenceModelWrapper')
