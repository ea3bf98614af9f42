# DDT + REG: a composition no paper trained. DDT-XL/2 (22 + 6 blocks, REPA
# in the encoder at block 8) with REG's DINOv2-B class token in front of
# both the encoder's and the decoder's sequences (w_cls = 0.03); the
# decoder's per-token condition carries the token's slot too, and the
# final layer returns its velocity. Sampling integrates the token with the
# latents (DDT's sampler: Euler ODE, CFG 2.0 for t <= 0.7).
# Not trained here: no FID to report.
#   tools/dist_train.sh configs/ddt/ddt_xl_repa_reg.py 8
_base_ = ['./ddt_xl_repa.py']

model = dict(
    backbone=dict(class_token_dim=768),  # DINOv2-B's width
    class_token=dict(loss_weight=0.03),
    # REG aligns the class position with DINOv2-B's class token too
    aligners=[
        dict(type='REPAAligner', encoders=[{{_base_.dinov2_b}}], depth=8,
             projector_dim=1152, loss_weight=0.5, align_prefix=True)
    ])
