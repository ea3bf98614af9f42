# Combination 4, control: the same CAT-RS stage as
# catrs-from-nib_smallconvnet_1xb64-3e_digits-holdout9-sigma0.25.py, from the
# cross-entropy model of the same budget
# (configs/nib/ce_smallconvnet_1xb64-20e_digits-holdout9.py) instead of NIB.
#   python tools/train.py configs/nib/ce_smallconvnet_1xb64-20e_digits-holdout9.py \
#       --work-dir work_dirs/compose/ce_digits-holdout9
#   python tools/train.py configs/compose/catrs-from-ce_smallconvnet_1xb64-3e_digits-holdout9-sigma0.25.py \
#       --work-dir work_dirs/compose/catrs-from-ce
_base_ = ['./catrs-from-nib_smallconvnet_1xb64-3e_digits-holdout9-sigma0.25.py']

load_from = 'work_dirs/compose/ce_digits-holdout9/epoch_20.pth'
