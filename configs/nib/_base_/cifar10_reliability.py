# CIFAR-10 for the NIB configs: rgl's CIFAR-10 loader (crop + flip), the
# test split as the known images, and the reliability measures.
_base_ = ['../../_base_/datasets/cifar10_bs256.py']
train_dataloader = dict(batch_size=128)
reliability = dict(
    known=dict(type='CIFAR10Dataset', data_root='data/cifar10',
               split='test'),
    # novelty detection: point `novel` at an out-of-distribution test set
    # (e.g. an ImageFolderDataset of the OBJECTS benchmark or SVHN)
    novel=None,
    # the 15 corruptions of CIFAR-10-C
    corruptions=[
        'gaussian_noise', 'shot_noise', 'impulse_noise', 'defocus_blur',
        'glass_blur', 'motion_blur', 'zoom_blur', 'snow', 'frost', 'fog',
        'brightness', 'contrast', 'elastic_transform', 'pixelate',
        'jpeg_compression'
    ],
    # a folder with the six frost photographs of Hendrycks & Dietterich's
    # generator; None uses rgl's procedural frost texture (not the photos)
    frost_texture_dir=None,
    severities=[1, 2, 3, 4, 5],
    batch_size=500,
    seed=0)
certify_cfg = dict(sigma=0.25, n0=100, n=100000, alpha=0.001, batch=1000)
