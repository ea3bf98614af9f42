# The foundation's end-to-end config: a small CNN on the bundled digits.
#   python tools/train.py configs/digits/smallconvnet_1xb64-20e_digits.py
#   tools/dist_train.sh configs/digits/smallconvnet_1xb64-20e_digits.py 2
_base_ = [
    '../_base_/models/small_convnet.py',
    '../_base_/datasets/digits_bs64.py',
    '../_base_/schedules/sgd_cosine_20e.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(logger=dict(interval=10))
