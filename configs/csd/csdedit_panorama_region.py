# Region-wise prompts on a panorama: data.tgt_prompt is a list of prompts
# for left-to-right regions; each 64x64 view mixes the prompts anchored
# around its centre (rgl's linear weights; the official script uses fixed
# tables WEIGHTS_2/3/4 over 12 horizontal views).
_base_ = ['./csdedit_panorama.py']
# pass the prompts: --tgt-prompt "make it autumn" "make it winter"
data = dict(tgt_prompt=None)
