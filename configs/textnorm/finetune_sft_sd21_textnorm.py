# Supervised fine-tuning of SD 2.1 on its best-of-n samples under the
# TextNorm reward.
_base_ = ['./_base_/sd21_finetune.py']
method = 'sft'
train = dict(steps=500, n=4, lr=1e-5)
