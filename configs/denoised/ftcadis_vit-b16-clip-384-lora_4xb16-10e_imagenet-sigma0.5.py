_base_ = ['./ftcadis_vit-b16-clip-384-lora_4xb16-10e_imagenet-sigma0.25.py']
sigma = 0.5
model = dict(train_loss=dict(sigma=sigma))
certify_cfg = dict(sigma=sigma)
