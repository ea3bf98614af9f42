# KL-regularised policy gradient (DPOK-style) on SD 2.1 with the TextNorm
# reward (UR ensemble of calibrated CLIP and PickScore rewards).
#   python tools/textnorm/finetune.py \
#       configs/textnorm/finetune_pg_sd21_textnorm.py --work-dir DIR \
#       --pipeline /path/to/stable-diffusion-2-1-base
_base_ = ['./_base_/sd21_finetune.py']
method = 'pg'
