# CAT-RS with the reference's confidence source (`--confidence_mask`): the
# smoothed predictions p̂ of a Gaussian σ=0.25 model over the train split,
# computed once, instead of the in-batch votes of the M copies.
#   python tools/train.py configs/smoothing/gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py \
#       --cfg-options model.train_loss.sigma=0.25 --work-dir work_dirs/gauss_digits_sigma0.25
#   python tools/smooth_predictions.py configs/smoothing/gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py \
#       work_dirs/gauss_digits_sigma0.25/epoch_20.pth --sigma 0.25 --n 10000 \
#       --split train --out work_dirs/digits_train_pred_sigma0.25.npy
#   python tools/train.py configs/smoothing/catrs-precomputed_smallconvnet_1xb64-20e_digits-sigma0.5.py
_base_ = ['./catrs_smallconvnet_1xb64-20e_digits-sigma0.5.py']
model = dict(loss_fields=('smoothed_pred', ))
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='SmoothedPredictionDataset',
        predictions='work_dirs/digits_train_pred_sigma0.25.npy',
        dataset={{_base_.train_dataloader.dataset}}))
