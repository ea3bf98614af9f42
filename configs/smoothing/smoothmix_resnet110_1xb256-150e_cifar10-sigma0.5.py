# SmoothMix (Jeong et al. 2021), 10 warm-up epochs: m=2, T=4, η=5;
# α=0.5/mix_step 0 (σ=0.25), α=1.0/1 (σ=0.5), α=2.0/1 (σ=1.0); σ=0.5.
_base_ = ['./smoothmix_resnet110_1xb256-150e_cifar10-sigma0.25.py']
model = dict(
    train_loss=dict(
        sigma=0.5,
        step_size=1.0,
        mix_step=1))
certify_cfg = dict(sigma=0.5)
