# Collaborative text-to-image score distillation with a plain Stable
# Diffusion UNet (SDS scores, eps_hat - eps): the particles start from the
# input images' latents and follow the text prompt.
_base_ = ['./csdedit_base.py']
task = 'images'
model = dict(
    score_source=dict(
        _delete_=True,
        type='StableDiffusionScore',
        pretrained='checkpoints/stable-diffusion-v1-5',
        guidance_scale=100.0,
        dtype='fp16'),
    t_range=(20, 980),
    lr=0.5)
