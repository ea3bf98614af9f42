# The digits recipe on mmengine's FlexibleRunner with an explicit strategy.
# Swap the strategy for FSDPStrategy (torch>=2.0, GPU) or DeepSpeedStrategy
# (deepspeed installed) without touching the model or data.
_base_ = ['./smallconvnet_1xb64-20e_digits.py']
runner_type = 'FlexibleRunner'
strategy = dict(type='DDPStrategy')
