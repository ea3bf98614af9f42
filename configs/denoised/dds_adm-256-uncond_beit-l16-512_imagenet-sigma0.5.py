_base_ = ['./dds_adm-256-uncond_beit-l16-512_imagenet-sigma0.25.py']
sigma = 0.5
certify_cfg = dict(sigma=sigma)
