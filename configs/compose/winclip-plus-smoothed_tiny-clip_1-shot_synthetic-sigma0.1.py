# Combination 2: WinCLIP+ (1-shot) under randomized smoothing. The base
# classifier is the thresholded anomaly score f(x) = 1[s(x) > τ]
# (ThresholdedScore, classes 0 = normal, 1 = anomalous); SmoothedClassifier
# certifies the decision with the Clopper-Pearson bound on P(s(x + δ) > τ).
#
# CPU data and weights (no download): the random tiny open_clip CLIP and the
# synthetic MVTec-layout set of the WinCLIP tests, written by
#   python -c "import sys; sys.path.insert(0, 'tests/test_models/test_anomaly'); \
#     from winclip_helpers import make_mvtec, save_tiny_clip; \
#     save_tiny_clip('work_dirs/compose/winclip/tiny_clip.pt'); \
#     make_mvtec('work_dirs/compose/winclip/mvtec', 'widget', n_train=4, n_good=10, n_defect=10)"
# The certification checkpoint is this model's state dict (scorer.*; the
# frozen CLIP), e.g. saved by
#   python -c "import rgl, torch; from mmengine import Config; from rgl.registry import MODELS; \
#     cfg = Config.fromfile('configs/compose/winclip-plus-smoothed_tiny-clip_1-shot_synthetic-sigma0.1.py'); \
#     torch.save(MODELS.build(cfg.model).state_dict(), 'work_dirs/compose/winclip/thresholded.pth')"
# then certified with
#   python tools/certify.py configs/compose/winclip-plus-smoothed_tiny-clip_1-shot_synthetic-sigma0.1.py \
#       work_dirs/compose/winclip/thresholded.pth --out work_dirs/compose/winclip/cert.tsv
# For real data and weights use the WinCLIP+ configs' clip/data settings.
_base_ = ['../winclip/winclip-plus_vit-b-16-plus-240_1-shot_mvtec.py']

# ThresholdedScore lives in its own module (not imported by
# rgl.models.smoothing): mmengine imports it when the config is loaded
custom_imports = dict(
    imports=['rgl.models.smoothing.thresholded_score'],
    allow_failed_imports=False)

data_root = 'work_dirs/compose/winclip/mvtec'
category = 'widget'
img_size = 64
# the tiny CLIP of tests/test_models/test_anomaly/winclip_helpers.py
tiny_clip = dict(
    embed_dim=32,
    vision_cfg=dict(image_size=64, layers=2, width=64, head_width=32,
                    patch_size=16),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2,
                  layers=1))
sigma = 0.1
winclip = dict(
    type='WinCLIPPlus',
    clip=dict(model_name='tiny', model_cfg=tiny_clip,
              checkpoint='work_dirs/compose/winclip/tiny_clip.pt'),
    prompt=dict(type='CompositionalPromptEnsemble'),
    class_name=category,
    scales=(2, 3),
    temperature=0.07,
    text_cache_dir=None,
    k_shot=1,
    reference=dict(
        dataset=dict(type='MVTecADDataset', data_root=data_root,
                     category=category, split='train', img_size=img_size),
        seed=0))
# τ: the largest median score of the 4 train normals under N(0, σ²) noise
# (16 draws each; 0.2858), rounded up: the smoothed decision is
# "median score > τ", so normal images fall below it (docs/compose.md)
threshold = 0.29
model = dict(
    _delete_=True,
    type='ThresholdedScore',
    scorer=winclip,
    threshold=threshold,
    mode='tensor',  # WinCLIP's forward(x, mode='tensor') -> (score, maps)
    output_index=0,
    classes=('good', 'anomalous'))
test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    dataset=dict(data_root=data_root, category=category, img_size=img_size))
smoothing = dict(type='SmoothedClassifier', num_classes=2, fold_bn=False)
certify_cfg = dict(sigma=sigma, n0=32, n=256, alpha=0.001, batch=256)
