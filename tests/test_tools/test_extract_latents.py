"""tools/extract_latents.py: ADM crop, moments, flips, encoder features,
resume after a kill, and the LatentDataset reading the result."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT
from rgl.utils.errors import ConfigError

TINY_VAE = dict(block_out_channels=(8, 16), layers_per_block=1,
                norm_num_groups=4, latent_channels=4, sample_size=16,
                down_block_types=('DownEncoderBlock2D', ) * 2,
                up_block_types=('UpDecoderBlock2D', ) * 2)


def _setup(tmp_path):
    from diffusers import AutoencoderKL
    torch.manual_seed(0)
    AutoencoderKL(**TINY_VAE).save_pretrained(tmp_path / 'vae')
    rng = np.random.default_rng(0)
    for i in range(7):  # 2 classes, non-square images
        folder = tmp_path / 'images' / f'class{i % 2}'
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)
                        ).save(folder / f'{i}.png')
    enc = tmp_path / 'tiny_dino.py'
    enc.write_text(
        "encoder = dict(type='DINOv2Encoder', arch='vit_s', grid_size=2,\n"
        "               model_kwargs=dict(embed_dim=16, depth=1, "
        "num_heads=2))\n")
    return enc


def _tool_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'extract_latents', f'{REPO_ROOT}/tools/extract_latents.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_adm_center_crop():
    tool = _tool_module()
    img = Image.fromarray(np.arange(80 * 40 * 3, dtype=np.uint8).reshape(
        40, 80, 3))
    # 40 x 80 -> short side >= 2*16: box-halved to 20 x 40, bicubic to
    # 16 x 32, centre 16 x 16 crop at columns 8..24
    half = img.resize((40, 20), Image.BOX).resize((32, 16), Image.BICUBIC)
    expected = np.asarray(half)[:, 8:24]
    np.testing.assert_array_equal(tool.adm_center_crop(img, 16), expected)


@pytest.mark.slow
def test_extract_resume_and_read(tool, tmp_path):
    enc_cfg = _setup(tmp_path)
    out = tmp_path / 'latents'
    args = ['tools/extract_latents.py', str(tmp_path / 'images'), str(out),
            '--vae', str(tmp_path / 'vae'), '--resolution', '16',
            '--shard-size', '3', '--batch-size', '2', '--flip',
            '--save-images', '--encoder', str(enc_cfg)]
    res = tool(args)
    assert res.returncode == 0, res.stderr[-3000:]
    index = json.loads((out / 'index.json').read_text())
    assert index['counts'] == [3, 3, 1] and index['latent_size'] == 8
    assert index['scaling_factor'] == pytest.approx(0.18215)

    # a killed run: shard 1 never written, shard 2 half-written garbage
    first = (out / 'shard_00000.pt').stat().st_mtime_ns
    good = torch.load(out / 'shard_00001.pt', weights_only=True)
    (out / 'shard_00001.pt').unlink()
    (out / 'shard_00002.pt').write_bytes(b'\x00' * 10)
    (out / 'index.json').unlink()
    res = tool(args)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resuming: 1 of' in res.stdout
    assert (out / 'shard_00000.pt').stat().st_mtime_ns == first
    redone = torch.load(out / 'shard_00001.pt', weights_only=True)
    torch.testing.assert_close(redone['moments'], good['moments'])
    assert sorted(os.listdir(out)) == ['index.json', 'run_identity.json'] \
        + [f'shard_0000{i}.pt' for i in range(3)]

    from rgl.datasets import LatentDataset
    from rgl.registry import MODELS
    ds = LatentDataset(str(out), flip='random', features=['tiny_dino'],
                       sample_posterior=False)
    assert len(ds) == 7 and ds.classes == ('class0', 'class1')
    item = ds[4]
    assert item['inputs'].shape == (4, 8, 8)
    assert item['images'].shape == (3, 16, 16)
    assert item['features'][0].shape == (4, 16)
    # stored moments are the VAE's on the stored crop
    vae = MODELS.build(dict(type='AutoencoderKL',
                            pretrained=str(tmp_path / 'vae')))
    img = item['images'].float()[None] / 255
    mean, _ = vae.encode_moments(img)
    torch.testing.assert_close(item['inputs'], 0.18215 * mean[0],
                               atol=1e-4, rtol=1e-4)

    # other options into the same folder: refused in one line, untouched
    res = tool(args + ['--resolution', '32'])
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith('error')]
    assert len(lines) == 1
    assert str(out) in lines[0] and 'resolution: 16 (output) vs 32 (now)' \
        in lines[0] and '--overwrite' in lines[0]
    assert (out / 'shard_00000.pt').stat().st_mtime_ns == first


def test_ranks_split_shards(tmp_path, monkeypatch):
    """Rank r of W writes shards i = r (mod W); rank 0 writes the index
    (here the ranks run one after the other in this process)."""
    enc_cfg = _setup(tmp_path)
    tool = _tool_module()
    out = tmp_path / 'latents'
    args = [str(tmp_path / 'images'), str(out), '--vae',
            str(tmp_path / 'vae'), '--resolution', '16', '--shard-size', '2',
            '--encoder', str(enc_cfg)]
    # rank 0 claims the folder (run identity) and writes the index; rank 1
    # checks the identity and writes its shards
    monkeypatch.setattr(tool, 'init_dist', lambda launcher: (0, 2))
    tool.main(args)
    assert sorted(p.name for p in out.glob('shard_*')) == [
        'shard_00000.pt', 'shard_00002.pt']
    index = json.loads((out / 'index.json').read_text())
    assert index['counts'] == [2, 2, 2, 1]
    monkeypatch.setattr(tool, 'init_dist', lambda launcher: (1, 2))
    tool.main(args)
    assert len(list(out.glob('shard_*'))) == 4
    from rgl.datasets import LatentDataset
    ds = LatentDataset(str(out), features=['tiny_dino'])
    labels = [ds[i]['data_samples'].gt_label.item() for i in range(7)]
    assert labels == [0, 0, 0, 0, 1, 1, 1]  # class0 holds images 0, 2, 4, 6
    shard = torch.load(out / 'shard_00003.pt', weights_only=True)
    assert shard['indices'].tolist() == [6]
    # no stored crops: images come from the source folder, ADM-cropped
    assert 'images' not in shard and ds.with_images
    from rgl.datasets.latents import load_crop
    torch.testing.assert_close(
        ds[6]['images'], load_crop(tmp_path / 'images/class1/5.png', 16))


def test_extract_run_identity(tmp_path, capsys):
    """Only the same extraction resumes OUT: other options, another VAE or
    another encoder config are refused; --overwrite starts afresh."""
    enc_cfg = _setup(tmp_path)
    tool = _tool_module()
    out = tmp_path / 'latents'
    args = [str(tmp_path / 'images'), str(out), '--vae',
            str(tmp_path / 'vae'), '--resolution', '16', '--shard-size', '4']
    tool.main(args)
    side = json.loads((out / 'run_identity.json').read_text())
    assert side['tool'] == 'extract_latents'
    assert side['run']['num_images'] == 7 and side['run']['encoders'] == {}
    shard0 = (out / 'shard_00000.pt').stat().st_mtime_ns

    # the same run again (any --batch-size): resumed, nothing redone
    (out / 'shard_00001.pt').unlink()
    capsys.readouterr()
    tool.main(args + ['--batch-size', '3'])
    assert 'resuming: 1 of' in capsys.readouterr().out
    assert (out / 'shard_00000.pt').stat().st_mtime_ns == shard0

    with pytest.raises(ConfigError, match=r'shard_size: 4 \(output\) vs 2'):
        tool.main(args + ['--shard-size', '2'])
    with pytest.raises(ConfigError, match="encoders: {} .output. vs "
                       "{'tiny_dino'"):
        tool.main(args + ['--encoder', str(enc_cfg)])
    # another VAE (same architecture, other weights)
    from diffusers import AutoencoderKL
    torch.manual_seed(1)
    AutoencoderKL(**TINY_VAE).save_pretrained(tmp_path / 'vae2')
    other = [a if a != str(tmp_path / 'vae') else str(tmp_path / 'vae2')
             for a in args]
    with pytest.raises(ConfigError, match='checkpoint_sha256'):
        tool.main(other)
    assert (out / 'shard_00000.pt').stat().st_mtime_ns == shard0

    # a folder without a run identity (e.g. an older extraction) is refused
    (out / 'run_identity.json').unlink()
    with pytest.raises(ConfigError, match='no run header'):
        tool.main(args)
    (out / 'notes.txt').write_text('kept')
    tool.main(args + ['--shard-size', '2', '--overwrite'])
    assert sorted(p.name for p in out.iterdir()) == [
        'index.json', 'notes.txt', 'run_identity.json'] + [
            f'shard_0000{i}.pt' for i in range(4)]
