_base_ = ['./dds_adm-cifar10-uncond_vit-b16_cifar10-sigma0.25.py']
sigma = 1.0
certify_cfg = dict(sigma=sigma)
