# Best-of-n selection (no training), CPU proxy.
_base_ = ['./finetune_pg_tiny-proxy.py']
method = 'best_of_n'
train = dict(steps=2, batch_size=4, n=4, save_every=2)
