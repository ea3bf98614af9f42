_base_ = ['./ftcadis_vit-b16_4xb32-30e_cifar10-sigma0.25.py']
sigma = 0.5
model = dict(train_loss=dict(sigma=sigma))
certify_cfg = dict(sigma=sigma)
