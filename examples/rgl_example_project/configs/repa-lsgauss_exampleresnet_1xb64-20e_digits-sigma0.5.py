# A downstream recipe: rgl's "REPA + Gaussian smoothing" digits config, with
# this project's backbone and objective swapped in.
#   rgl train configs/repa-lsgauss_exampleresnet_1xb64-20e_digits-sigma0.5.py
#   rgl certify configs/repa-lsgauss_exampleresnet_1xb64-20e_digits-sigma0.5.py \
#       work_dirs/repa-lsgauss_exampleresnet_1xb64-20e_digits-sigma0.5/epoch_20.pth \
#       --out certify.tsv
# The base comes from the installed rgl (rgl/.mim/configs/...); its REPA
# target is rgl's shipped digits MAE encoder (assets/encoders/...), found
# from any folder.
_base_ = 'rgl::repa_smoothing/repa-gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py'

# registers ExampleResNet and LabelSmoothedGaussianLoss in rgl's MODELS
# (./rgl_example, or the installed package)
custom_imports = dict(imports=['rgl_example'], allow_failed_imports=False)

model = dict(
    # stages.0 maps 16x16 digits to 8x8 x 32 channels, like SmallConvNet's:
    # the inherited REPA aligner (layer='stages.0', in_dim=32) fits as is
    backbone=dict(_delete_=True, type='ExampleResNet', in_channels=1,
                  widths=(32, 64)),
    train_loss=dict(_delete_=True, type='LabelSmoothedGaussianLoss',
                    sigma={{_base_.sigma}}, num_noise=1,
                    label_smoothing=0.1))
