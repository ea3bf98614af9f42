# Collaborative Score Distillation (CSD-Edit, Kim et al., NeurIPS 2023):
# InstructPix2Pix scores combined across particles by SVGD. The recipe is
# the official one: t ~ U[20, 500] of 1000, SGD lr 2.0, StepLR(20, 0.9),
# 200 steps, guidance s_T = 7.5, s_I = 5.0, empty source/negative prompts.
task = 'images'
model = dict(
    type='SVGDDistiller',
    score_source=dict(
        type='InstructPix2PixScore',
        # a local copy of timbrooks/instruct-pix2pix (no hub access)
        pretrained='checkpoints/instruct-pix2pix',
        guidance_scale=7.5,
        image_guidance_scale=5.0,
        dtype='fp16',  # autocast; use 'fp32' on CPU
        vae_offload=False),
    kernel=dict(type='RBFKernel', bandwidth='median'),
    svgd=True,
    t_range=(20, 500),
    num_steps=200,
    lr=2.0,
    weight_decay=0.0,
    lr_step=20,
    lr_gamma=0.9,
    seed=0)
data = dict(
    inputs=None,  # files or folders; pass --inputs
    image_size=(512, 512),
    tgt_prompt=None,  # the instruction; pass --tgt-prompt
    src_prompt='',
    neg_prompt='')
