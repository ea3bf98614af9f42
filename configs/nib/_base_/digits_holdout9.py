# The bundled digits (16x16 grey) with digit 9 held out of training: the
# known classes 0-8 are relabelled 0..8, the test images of 9 are the
# novelties of the novelty-detection measure.
held_out = (9, )
img_size = 16
digits = dict(type='DigitsDataset', img_size=img_size)
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='HeldOutClassDataset',
        dataset=dict(digits, split='train'),
        held_out=held_out))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='HeldOutClassDataset',
        dataset=dict(digits, split='test'),
        held_out=held_out))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# tools/nib/evaluate_reliability.py: known test images (accuracy and the
# corruptions), novel test images (novelty AUROC against the known ones)
reliability = dict(
    known=val_dataloader['dataset'],
    novel=dict(
        type='HeldOutClassDataset',
        dataset=dict(digits, split='test'),
        held_out=held_out,
        keep='novel'),
    # the 9 corruptions of the measured proxy runs (configs/nib/README.md);
    # add glass_blur, motion_blur, snow, frost, fog, elastic_transform for
    # all 15
    corruptions=[
        'gaussian_noise', 'shot_noise', 'impulse_noise', 'defocus_blur',
        'zoom_blur', 'contrast', 'brightness', 'pixelate', 'jpeg_compression'
    ],
    severities=[1, 2, 3, 4, 5],
    batch_size=256,
    seed=0)
# tools/certify.py (small N for the CPU proxy)
certify_cfg = dict(sigma=0.25, n0=100, n=1000, alpha=0.001, batch=1000)
