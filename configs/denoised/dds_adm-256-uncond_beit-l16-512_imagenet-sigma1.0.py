_base_ = ['./dds_adm-256-uncond_beit-l16-512_imagenet-sigma0.25.py']
sigma = 1.0
certify_cfg = dict(sigma=sigma)
