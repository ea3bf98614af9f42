# Best-of-n selection with SD 2.1 under the TextNorm reward (no training:
# the logs and galleries hold the selected samples).
_base_ = ['./_base_/sd21_finetune.py']
method = 'best_of_n'
train = dict(steps=20, n=16, save_every=5)
