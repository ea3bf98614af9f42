# SmoothMix (Jeong et al. 2021), 10 warm-up epochs: m=2, T=4, η=5;
# α=0.5/mix_step 0 (σ=0.25), α=1.0/1 (σ=0.5), α=2.0/1 (σ=1.0); σ=0.25.
_base_ = ['./_base_/resnet110_cifar10_150e.py']
model = dict(
    train_loss=dict(
        type='SmoothMixLoss',
        sigma=0.25,
        num_noise=2,
        num_steps=4,
        step_size=0.5,
        eta=5.0,
        mix_step=0,
        # 10 warm-up epochs of 196 iterations (batch 256)
        warmup_iters=1960))
certify_cfg = dict(sigma=0.25)
