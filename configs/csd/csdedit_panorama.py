# Panorama / high-resolution editing: overlapping 64x64 latent windows
# (stride 16) are the particles; 16 random windows per step; gradients are
# averaged where windows overlap. Height and width must be multiples of the
# VAE factor (8); the official script resizes to multiples of 8*stride.
_base_ = ['./csdedit_base.py']
task = 'panorama'
data = dict(image_size=None)  # keep the panorama's own size
panorama = dict(window=64, stride=16, batch=16)
