# Supervised fine-tuning on best-of-n samples, CPU proxy.
_base_ = ['./finetune_pg_tiny-proxy.py']
method = 'sft'
train = dict(steps=10, batch_size=4, n=4, lr=3e-3, save_every=5)
