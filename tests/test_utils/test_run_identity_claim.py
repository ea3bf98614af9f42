"""rgl.utils.run_identity: the sidecar of a resumable tool's output."""
import json
import os

import pytest
from mmengine.config import Config

from rgl.utils.errors import ConfigError
from rgl.utils.run_identity import (RunIdentity, check_output, claim_output,
                                    config_sha256, file_sha256, path_sha256)


def test_file_output_new_resume_refuse_overwrite(tmp_path):
    out = str(tmp_path / 'sub' / 'rows.tsv')
    ident = RunIdentity('certify', dict(sigma=0.25, n=1000))
    assert claim_output(out, ident) is False  # new: sidecar only
    side = json.load(open(out + '.json'))
    assert side['tool'] == 'certify' and side['run'] == dict(sigma=0.25,
                                                             n=1000)
    open(out, 'w').write('rows\n')
    assert claim_output(out, RunIdentity('certify', dict(sigma=0.25,
                                                         n=1000))) is True
    with pytest.raises(ConfigError) as err:
        claim_output(out, RunIdentity('certify', dict(sigma=0.5, n=2000)))
    msg = str(err.value)
    assert '\n' not in msg and msg.startswith(out)
    assert 'sigma: 0.25 (output) vs 0.5 (now); n: 1000 (output) vs 2000' \
        in msg and '--overwrite' in msg
    # another tool with the same arguments is another run
    with pytest.raises(ConfigError, match="tool: 'certify' .output. vs "
                       "'sample'"):
        claim_output(out, RunIdentity('sample', dict(sigma=0.25, n=1000)))
    assert open(out).read() == 'rows\n'  # refusals touch nothing
    assert claim_output(out, RunIdentity('certify', dict(sigma=0.5)),
                        overwrite=True) is False
    assert not os.path.exists(out)
    assert json.load(open(out + '.json'))['run'] == dict(sigma=0.5)


def test_file_output_members_and_no_resume(tmp_path):
    out = str(tmp_path / 'rows.tsv')
    part = tmp_path / 'rows.tsv.part1'
    part.write_text('x')  # a part alone makes the output exist
    ident = RunIdentity('t', {})
    with pytest.raises(ConfigError, match='no run header'):
        claim_output(out, ident, members=('rows.tsv.part*', ))
    claim_output(out, ident, members=('rows.tsv.part*', ), overwrite=True)
    assert not part.exists()
    open(out, 'w').write('done')
    with pytest.raises(ConfigError, match='cannot resume; pass --overwrite'):
        claim_output(out, ident, resume=False)


def test_folder_output_only_members_are_output(tmp_path):
    out = tmp_path / 'samples'
    ident = RunIdentity('sample', dict(seed=0))
    assert claim_output(str(out), ident, folder=True,
                        members=('chunks', 'samples.npz')) is False
    (out / 'chunks').mkdir()
    (out / 'chunks' / '0.npz').write_bytes(b'0')
    (out / 'README.txt').write_text('not the tool\'s')
    assert claim_output(str(out), ident, folder=True,
                        members=('chunks', 'samples.npz')) is True
    check_output(str(out), ident, folder=True)
    with pytest.raises(ConfigError, match='seed: 0 .output. vs 1'):
        check_output(str(out), RunIdentity('sample', dict(seed=1)),
                     folder=True)
    claim_output(str(out), RunIdentity('sample', dict(seed=1)), folder=True,
                 members=('chunks', 'samples.npz'), overwrite=True)
    assert sorted(os.listdir(out)) == ['README.txt', 'run_identity.json']
    # a sidecar alone (killed before the first piece) is simply restarted
    assert claim_output(str(out), RunIdentity('sample', dict(seed=2)),
                        folder=True, members=('chunks', )) is False
    with pytest.raises(ConfigError, match='is a folder'):
        claim_output(str(out), ident)


def test_corrupt_sidecar_is_one_error(tmp_path):
    out = tmp_path / 'o.tsv'
    out.write_text('x')
    (tmp_path / 'o.tsv.json').write_text('{not json')
    with pytest.raises(ConfigError, match='o.tsv.json: unreadable run '
                       'identity'):
        claim_output(str(out), RunIdentity('t', {}))


def test_hashes(tmp_path):
    import hashlib
    ckpt = tmp_path / 'w.pth'
    ckpt.write_bytes(b'weights' * 1000)
    assert file_sha256(ckpt) == hashlib.sha256(b'weights' * 1000).hexdigest()
    ident = RunIdentity('t', dict(a=(1, 2)), checkpoint=str(ckpt))
    assert ident.run == dict(a=[1, 2],
                             checkpoint_sha256=file_sha256(ckpt))
    # the cache is keyed by mtime and size: a rewritten file is re-hashed
    ckpt.write_bytes(b'other')
    os.utime(ckpt, ns=(1, 1))
    assert file_sha256(ckpt) == hashlib.sha256(b'other').hexdigest()
    folder = tmp_path / 'vae'
    folder.mkdir()
    (folder / 'config.json').write_text('{}')
    first = path_sha256(folder)
    (folder / 'config.json').write_text('{"a": 1}')
    assert path_sha256(folder) != first

    # the merged config's content decides, not its formatting
    a, b = tmp_path / 'a.py', tmp_path / 'b.py'
    a.write_text('model = dict(type="X", depth=2)\n')
    b.write_text('# same values\nmodel = dict(depth=2,\n  type="X")\n')
    assert config_sha256(str(a)) == config_sha256(Config.fromfile(str(b)))
    cfg = Config.fromfile(str(a))
    cfg.merge_from_dict({'model.depth': 3})  # --cfg-options count
    assert config_sha256(cfg) != config_sha256(str(a))


def test_config_objects_hash_stably():
    class Obj:
        pass

    cfg = dict(type=Obj, fn=test_hashes, obj=Obj())
    # classes and functions by name; no memory address in other reprs
    assert config_sha256(cfg) == config_sha256(dict(cfg, obj=Obj()))
    assert config_sha256(cfg) != config_sha256(dict(cfg, fn=print))
