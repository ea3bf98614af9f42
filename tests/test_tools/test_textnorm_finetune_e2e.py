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


def _finetune_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'textnorm_finetune', 'tools/textnorm/finetune.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_finetune_resume_is_exact_and_refuses_other_runs(tool, tmp_path):
    import pytest
    from safetensors.torch import load_file

    from rgl.utils.errors import ConfigError
    proxy = str(tmp_path / 'proxy')
    r = tool(['tools/textnorm/make_proxy.py', proxy])
    assert r.returncode == 0, r.stderr[-2000:]
    opts = ['--cfg-options', f'proxy={proxy}', f'pipeline={proxy}/pipe',
            f'reward.reward_models.0.checkpoint={proxy}/clip.bin',
            'train.batch_size=2', 'train.save_every=2',
            'train.eval_repeats=1', 'policy.num_steps=2']
    cfg = 'configs/textnorm/finetune_pg_tiny-proxy.py'
    finetune = _finetune_module()

    def run(work, steps, *extra, options=()):
        finetune.main([cfg, '--work-dir', work, '--steps', str(steps),
                       *extra] + opts + list(options))

    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    run(full, 4)
    run(part, 2)
    # the same run again without --resume: refused
    with pytest.raises(ConfigError, match='--overwrite'):
        run(part, 4)
    # another run (a different lr) cannot resume it
    with pytest.raises(ConfigError, match='different run.*config_sha256'):
        run(part, 4, '--resume', options=['train.lr=0.5'])
    run(part, 4, '--resume')
    a = load_file(osp.join(full, 'lora_step4.safetensors'))
    b = load_file(osp.join(part, 'lora_step4.safetensors'))
    assert a.keys() == b.keys()
    for k in a:  # bit for bit
        assert a[k].equal(b[k]), k
    logs = [[json.loads(line) for line in open(osp.join(d, 'log.jsonl'))]
            for d in (full, part)]
    assert logs[0] == logs[1]
    assert [x['step'] for x in logs[0]] == [1, 2, 3, 4]
    # --overwrite starts afresh
    run(part, 1, '--overwrite')
    assert not osp.exists(osp.join(part, 'lora_step4.safetensors'))
    assert osp.isfile(osp.join(part, 'lora_step1.safetensors'))
