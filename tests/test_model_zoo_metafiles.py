"""The model zoo's metafiles (configs/*/metafile.yml): complete, valid and
loadable, and the checker that keeps them so (rgl.utils.model_zoo)."""
import os
import os.path as osp

import pytest
import yaml

from conftest import REPO_ROOT
from rgl.utils.model_zoo import (MEASURED, PAPER, check_zoo, config_files,
                                 families, load_zoo, scan_zoo)
from rgl.utils.errors import ConfigError

CONFIGS = osp.join(REPO_ROOT, 'configs')


def test_every_config_folder_is_listed_completely():
    models, problems = scan_zoo(CONFIGS)
    assert problems == []
    # every method folder has entries, every entry points into its folder
    assert {m.family for m in models} == set(families(CONFIGS))
    for model in models:
        assert model.config.startswith(f'configs/{model.family}/')
        assert osp.isfile(osp.join(REPO_ROOT, model.config))
        assert model.name == osp.basename(model.config)[:-3]


def test_every_listed_config_loads_with_mmengine():
    # Config.fromfile of every listed config, no model builds
    assert check_zoo(CONFIGS, load_configs=True) == []


def test_results_say_where_they_come_from():
    models = load_zoo(CONFIGS)
    measured = [m for m in models if m.headline(MEASURED)]
    paper = [m for m in models if m.headline(PAPER)]
    assert len(measured) >= 20 and len(paper) >= 30
    for model in models:
        for result in model.results:
            assert result['Source'] in (MEASURED, PAPER)
            assert result['Metrics'] or result.get('Notes')
        assert model.weights.strip() and model.weights_command.strip()
    by_name = {m.name: m for m in models}
    # spot checks against the READMEs the numbers come from
    catrs = by_name['catrs_smallconvnet_1xb64-20e_digits-sigma0.5']
    assert catrs.headline(MEASURED) == 'ACR 0.918'
    assert catrs.headline(PAPER) == ''
    cifar = by_name['catrs_resnet110_1xb256-150e_cifar10-sigma0.5']
    assert cifar.headline(PAPER) == 'ACR 0.757'
    assert cifar.headline(MEASURED) == ''
    assert by_name['sit_xl'].headline(PAPER) == 'FID@400K 7.9'
    assert by_name['sit-tiny_repa_digits'].headline(MEASURED) == \
        'FD_enc 2.09'
    # trained configs name the command that writes their weights
    assert catrs.weights_command == (
        'python tools/train.py configs/smoothing/'
        'catrs_smallconvnet_1xb64-20e_digits-sigma0.5.py')
    assert catrs.weights == ('work_dirs/catrs_smallconvnet_1xb64-20e_digits'
                             '-sigma0.5/epoch_20.pth')


# ---------------------------------------------------------------- checker
def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


GOOD_META = {
    'Collections': [{'Name': 'Toy', 'README': 'configs/toy/README.md',
                     'Paper': {'Title': 'A toy'}}],
    'Fragments': ['parts/*.py'],
    'Models': [{
        'Name': 'toy_a', 'In Collection': 'Toy',
        'Config': 'configs/toy/toy_a.py',
        'Results': [
            {'Task': 'Image Classification', 'Dataset': 'digits',
             'Source': MEASURED, 'Metrics': {'top-1 (%)': 99.0}},
            {'Task': 'Image Classification', 'Dataset': 'CIFAR-10',
             'Source': PAPER, 'Metrics': {}, 'Notes': 'not retrieved'}],
        'Weights': 'work_dirs/toy_a/epoch_1.pth',
        'Weights Command': 'python tools/train.py configs/toy/toy_a.py'}],
}


@pytest.fixture
def toy_zoo(tmp_path):
    root = tmp_path / 'configs'
    _write(root / '_base_' / 'runtime.py', 'a = 1\n')
    _write(root / 'toy' / 'README.md', '# toy\n')
    _write(root / 'toy' / 'toy_a.py', "model = dict(type='X')\n")
    _write(root / 'toy' / '_base_' / 'inherited.py', 'b = 2\n')
    _write(root / 'toy' / 'parts' / 'encoder.py', 'encoder = dict()\n')
    _write(root / 'toy' / 'metafile.yml', yaml.safe_dump(GOOD_META))
    return root


def test_checker_accepts_a_complete_zoo(toy_zoo):
    assert check_zoo(str(toy_zoo), load_configs=True) == []
    (model, ) = load_zoo(str(toy_zoo))
    assert (model.family, model.collection) == ('toy', 'Toy')
    assert model.tasks == ['Image Classification']
    assert model.datasets == ['digits', 'CIFAR-10']
    assert sorted(config_files(str(toy_zoo / 'toy'))) == [
        'parts/encoder.py', 'toy_a.py']


def test_checker_names_each_mistake(toy_zoo):
    meta = yaml.safe_load((toy_zoo / 'toy' / 'metafile.yml').read_text())
    good = meta['Models'][0]
    meta['Fragments'] = ['parts/*.py', 'stale_*.py']
    meta['Models'] += [
        dict(good, Name='toy_missing', Config='configs/toy/toy_missing.py'),
        dict(good, Name='wrong_name', Config='configs/toy/toy_c.py'),
        dict(good, Name='toy_d', Config='configs/toy/toy_d.py',
             Results=[{'Task': 'T', 'Dataset': 'D', 'Source': 'measured',
                       'Metrics': {'acc': 1}}]),
        dict(good, Name='toy_e', Config='configs/toy/toy_e.py',
             Results=[{'Task': 'T', 'Dataset': 'D', 'Source': PAPER,
                       'Metrics': {}}]),
        dict(good, Name='toy_f', Config='configs/toy/toy_f.py',
             **{'In Collection': 'Nope'}),
        {k: v for k, v in good.items() if k != 'Weights Command'},
        dict(good),  # toy_a again
    ]
    (toy_zoo / 'toy' / 'metafile.yml').write_text(yaml.safe_dump(meta))
    for name in ('toy_c', 'toy_d', 'toy_e', 'toy_f', 'toy_b'):
        _write(toy_zoo / 'toy' / f'{name}.py', 'x = 1\n')
    _write(toy_zoo / 'toy' / 'toy_broken.py', 'x = (\n')
    meta['Models'].append(dict(good, Name='toy_broken',
                               Config='configs/toy/toy_broken.py'))
    (toy_zoo / 'toy' / 'metafile.yml').write_text(yaml.safe_dump(meta))
    _write(toy_zoo / 'orphan' / 'orphan.py', 'x = 1\n')

    problems = check_zoo(str(toy_zoo), load_configs=True)
    text = '\n'.join(problems)
    assert 'configs/orphan/ has no metafile.yml' in text
    assert 'Config configs/toy/toy_missing.py does not exist' in text
    assert "Name must be the config file's name without .py ('toy_c')" \
        in text
    assert "Source is 'measured'" in text
    assert 'empty Metrics need Notes' in text
    assert "In Collection 'Nope'" in text
    assert 'missing Weights Command' in text
    assert 'configs/toy/toy_b.py is not listed' in text
    assert "Fragments pattern 'stale_*.py' matches no" in text
    assert 'configs/toy/toy_broken.py does not load' in text
    assert 'toy_a is listed twice' in text
    # the fragment and the _base_ folders are never reported
    assert 'encoder.py' not in text and 'inherited.py' not in text
    assert 'runtime.py' not in text
    with pytest.raises(ConfigError, match='problem'):
        load_zoo(str(toy_zoo))


def test_checker_reports_a_broken_metafile(toy_zoo):
    (toy_zoo / 'toy' / 'metafile.yml').write_text('Models: [\n')
    (problem, ) = check_zoo(str(toy_zoo), load_configs=False)
    assert 'configs/toy/metafile.yml' in problem and 'YAML' in problem
    os.remove(toy_zoo / 'toy' / 'metafile.yml')
    assert check_zoo(str(toy_zoo), load_configs=False) == [
        'configs/toy/ has no metafile.yml']
