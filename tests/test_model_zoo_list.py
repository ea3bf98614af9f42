"""``rgl list`` and tools/misc/list_models.py: the zoo as a table,
filtered by family, task and dataset; ``rgl tools`` for the tools."""
import os.path as osp
import re

import pytest

from conftest import REPO_ROOT
from rgl.cli.main import main
from rgl.utils.model_zoo import (DOC_BEGIN, DOC_END, MEASURED, ZooModel,
                                 filter_models, format_markdown,
                                 format_table, load_zoo, render_doc_table)

CONFIGS = osp.join(REPO_ROOT, 'configs')


@pytest.fixture(scope='module')
def zoo():
    return load_zoo(CONFIGS)


def _stems(folder, contains=''):
    import os
    return {f[:-3] for f in os.listdir(osp.join(CONFIGS, folder))
            if f.endswith('.py') and contains in f}


def test_filters(zoo):
    picked = filter_models(zoo, family='smoothing', dataset='digits')
    # exactly the digits configs of configs/smoothing/ (not repa_smoothing)
    assert {m.name for m in picked} == _stems('smoothing', 'digits')
    assert {m.family for m in picked} == {'smoothing'}
    # a method (collection) is a family too, however it is spelled
    catrs = filter_models(zoo, family='catrs')
    assert catrs and {m.collection for m in catrs} == {'CAT-RS'}
    assert filter_models(zoo, family='CAT-RS') == catrs
    # several alternatives; dataset and task match by substring
    both = filter_models(zoo, family=['repa', 'repa_smoothing'])
    assert {m.family for m in both} == {'repa', 'repa_smoothing'}
    cifar = filter_models(zoo, dataset='cifar10', task='certified')
    assert cifar and all('CIFAR-10' in m.datasets for m in cifar)
    assert {m.family for m in cifar} >= {'smoothing', 'denoised'}
    assert filter_models(zoo, family='no-such-family') == []
    # names: a substring of family/name
    assert [m.name for m in filter_models(zoo, name='repa/sit_xl')] == [
        'sit_xl', 'sit_xl_baseline']


def _model(name, measured=None, paper=None):
    results = []
    if measured:
        results.append(dict(Task='Certified Classification',
                            Dataset='digits', Source=MEASURED,
                            Metrics=measured))
    if paper:
        results.append(dict(Task='Certified Classification',
                            Dataset='CIFAR-10', Source='paper',
                            Metrics=paper))
    return ZooModel(name=name, family='smoothing', collection='CAT-RS',
                    config=f'configs/smoothing/{name}.py', results=results)


def test_table_fits_the_width_and_keeps_the_results():
    models = [
        _model('catrs_smallconvnet_1xb64-20e_digits-sigma0.5',
               measured={'ACR': 0.918, 'cert@0.5 (%)': 73.3}),
        _model('catrs_resnet110_1xb256-150e_cifar10-sigma0.5',
               paper={'ACR': 0.757}),
        _model('x', measured={'ACR': 0.5}, paper={'ACR': 0.6}),
    ]
    wide = format_table(models, width=200).splitlines()
    assert wide[0].split() == ['Config', 'Family', 'Method', 'Task',
                               'Dataset', 'Measured', '(CPU)', 'Paper']
    row = next(line for line in wide if line.startswith('catrs_small'))
    # headline = the first metric of the result; '-' where there is none
    assert re.search(r'ACR 0\.918\s+-$', row)
    assert re.search(r'-\s+ACR 0\.757$', next(
        line for line in wide if line.startswith('catrs_resnet')))
    for width in (40, 60, 80, 100, 120):
        lines = format_table(models, width=width).splitlines()
        assert max(len(line) for line in lines) <= width, width
        if width >= 60:  # the results columns keep their 16 characters
            assert any('ACR 0.918' in line for line in lines), width
    narrow = format_table(models, width=80).splitlines()
    assert 'Method' not in narrow[0] and 'Paper' in narrow[0]
    assert 'Measured' in narrow[0]


def test_markdown_and_docs_page_are_current(zoo):
    md = format_markdown(zoo).splitlines()
    assert len(md) == len(zoo) + 2
    assert all(line.count(' | ') == 6 for line in md if '`' in line)
    with open(osp.join(REPO_ROOT, 'docs', 'model_zoo.md')) as f:
        page = f.read()
    start, end = page.index(DOC_BEGIN), page.index(DOC_END) + len(DOC_END)
    assert page[start:end] == render_doc_table(zoo), (
        'docs/model_zoo.md is stale: run python tools/misc/list_models.py '
        '--update-doc docs/model_zoo.md')


def test_rgl_list_and_rgl_tools(capsys):
    assert main(['list', '--family', 'smoothing', '--dataset', 'digits',
                 '--format', 'names']) == 0
    assert set(capsys.readouterr().out.split()) == _stems(
        'smoothing', 'digits')
    assert main(['list', '--family', 'smoothing', '--dataset', 'digits',
                 '--width', '100']) == 0
    out = capsys.readouterr().out
    assert 'ACR 0.918' in out and 'Measured' in out
    assert all(len(line) <= 100 for line in out.splitlines()[:-1])
    assert main(['list', 'catrs_smallconvnet_1xb64-20e_digits-sigma0.5',
                 '--details']) == 0
    out = capsys.readouterr().out
    assert ('python tools/train.py configs/smoothing/catrs_smallconvnet_'
            '1xb64-20e_digits-sigma0.5.py') in out
    assert f'[{MEASURED}]' in out
    # no match: exit 1 and the values that exist
    assert main(['list', '--family', 'nope']) == 1
    err = capsys.readouterr().err
    assert 'no config matches' in err and 'smoothing' in err
    # the tools: `rgl tools` and `rgl list tools`
    for argv in (['tools'], ['list', 'tools']):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert 'dist-train' in out and 'get_flops' in out
        assert 'list_models' in out


def test_list_models_tool(tool):
    res = tool(['tools/misc/list_models.py', '--family', 'repa', '--task',
                'generation', '--dataset', 'digits', '--format', 'configs'])
    assert res.returncode == 0, res.stderr
    listed = set(res.stdout.split())
    assert listed == {f'configs/repa/{s}.py'
                      for s in _stems('repa', 'digits')}


def test_no_match_names_what_exists(capsys):
    from rgl.cli.zoo import main as list_main
    assert list_main(['--dataset', 'no-such-data']) == 1
    err = capsys.readouterr().err
    assert 'datasets:' in err and 'CIFAR-10' in err
