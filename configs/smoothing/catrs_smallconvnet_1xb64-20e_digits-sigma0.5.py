# CAT-RS (Jeong et al., AAAI 2023) on the bundled digits, CPU-sized.
# λ follows the CIFAR-10 setting for σ = 0.5; M = 4, ε = 1.0, 4 PGD steps.
_base_ = ['./gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py']
model = dict(
    train_loss=dict(
        _delete_=True,
        type='CATRSLoss',
        sigma={{_base_.sigma}},
        num_noise=4,
        lbd=1.0,
        epsilon=1.0,
        num_steps=4))
