# Consistent editing of a set of images: each image is one SVGD particle.
_base_ = ['./csdedit_base.py']
task = 'images'
