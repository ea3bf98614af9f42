import json
import os.path as osp

from PIL import Image


def test_finetune_tool_pg(tool, tmp_path):
    proxy = str(tmp_path / 'proxy')
    r = tool(['tools/textnorm/make_proxy.py', proxy])
    assert r.returncode == 0, r.stderr[-2000:]
    work = str(tmp_path / 'pg')
    opts = ['--cfg-options', f'proxy={proxy}', f'pipeline={proxy}/pipe',
            f'reward.reward_models.0.checkpoint={proxy}/clip.bin',
            'train.batch_size=2', 'train.save_every=1',
            'train.eval_repeats=1', 'policy.num_steps=2']
    r = tool(['tools/textnorm/finetune.py',
              'configs/textnorm/finetune_pg_tiny-proxy.py', '--work-dir',
              work, '--steps', '2'] + opts)
    assert r.returncode == 0, r.stderr[-3000:]
    log = [json.loads(line) for line in open(osp.join(work, 'log.jsonl'))]
    assert [rec['step'] for rec in log] == [1, 2]
    for rec in log:
        assert 0 < rec['calibrated'][0] < 1
        assert abs(rec['objective'] - rec['textnorm']) < 1e-6
    assert osp.isfile(osp.join(work, 'lora_step2.safetensors'))
    gallery = Image.open(osp.join(work, 'gallery_step2.png'))
    assert gallery.size == (4 * 16, 16)
    assert 'reward hacking' in r.stdout
    eval_file = osp.join(work, 'eval.jsonl')
    evals = [json.loads(line) for line in open(eval_file)]
    assert [e['step'] for e in evals] == [1, 2]
    assert 'fixed-seed evaluation' in r.stdout
    # bad method: one line
    r = tool(['tools/textnorm/finetune.py',
              'configs/textnorm/finetune_pg_tiny-proxy.py', '--work-dir',
              work, '--steps', '1'] + opts + ['method=ppo'])
    assert r.returncode == 2 and r.stderr.startswith('error:')
    assert 'method' in r.stderr
