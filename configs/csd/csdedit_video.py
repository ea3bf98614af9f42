# Video editing: the frames (512x512) are the particles. The official video
# recipe: 100 steps at lr 0.5 and image guidance 1.5.
_base_ = ['./csdedit_base.py']
task = 'video'
model = dict(
    score_source=dict(image_guidance_scale=1.5), num_steps=100, lr=0.5)
output = dict(fps=8)
