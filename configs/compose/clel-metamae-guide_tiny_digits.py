# Combination 3: CLEL with a frozen MetaMAE-pretrained encoder as the latent
# guide, in place of the jointly trained SimCLR encoder of
# configs/clel/clel_tiny_digits.py (same EBM, SGLD, buffer and budget).
# The guide is CheckpointEncoder: the MetaMAE digits model
# (configs/metamae/metamae-tiny_1xb64-300it_digits.py, 8x8 digits, 2x2
# patches -> 4x4 tokens of 64-d) read after its final norm; CLEL takes the
# mean token as the latent y = h(x).
#   python tools/train.py configs/metamae/metamae-tiny_1xb64-300it_digits.py \
#       --work-dir work_dirs/compose/metamae-tiny_digits
#   python tools/train.py configs/compose/clel-metamae-guide_tiny_digits.py \
#       --work-dir work_dirs/compose/clel-metamae-guide_tiny_digits
_base_ = ['../clel/clel_tiny_digits.py']

metamae_checkpoint = 'work_dirs/compose/metamae-tiny_digits/iter_300.pth'
model = dict(
    # the projection z_θ(x) must match the guide's 64-d latents
    head=dict(projection_dims=(256, 64)),
    guide=dict(
        _delete_=True,
        type='CheckpointEncoder',
        config='configs/metamae/metamae-tiny_1xb64-300it_digits.py',
        checkpoint=metamae_checkpoint,
        tap='norm',             # the encoder's output tokens
        num_prefix_tokens=1,    # drop the class token
        input_size=8,
        patch_size=2,
        channels=1))
# optim_wrapper as in the base: CLELOptimWrapperConstructor builds only the
# EBM's Adam, since a frozen guide has no parameters to train
