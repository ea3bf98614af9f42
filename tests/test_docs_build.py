"""The documentation site builds with warnings as errors, as CI builds it:

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

DOCS = osp.join(REPO_ROOT, 'docs')


def sphinx_build(src, out):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('RGL_DEBUG', None)
    return subprocess.run(
        [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-b', 'html',
         '-q', '-d', str(out / 'doctrees'), str(src), str(out / 'html')],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    out = sphinx_build(DOCS, tmp_path)
    assert out.returncode == 0, 'sphinx warnings:\n' + out.stderr[-5000:]
    html = tmp_path / 'html'
    # every guide and every method page (a glob toctree) is in the site
    for page in ['get_started', 'architecture', 'compose', 'contributing'] + [
            'methods/' + osp.splitext(osp.basename(p))[0]
            for p in glob.glob(osp.join(DOCS, 'methods', '*.md'))]:
        assert (html / f'{page}.html').is_file(), page
        assert f'href="{page}.html"' in (html / 'index.html').read_text(), \
            page
    # the API reference is generated from the real modules' docstrings
    models = (html / 'api' / 'models.html').read_text()
    assert 'id="rgl.models.encoders.mae.MAEEncoder"' in models
    assert 'the encoder of an mae' in models.lower()
    utils = (html / 'api' / 'utils.html').read_text()
    assert 'id="rgl.utils.assets.resolve_asset"' in utils


def test_docs_links_between_pages_are_checked(tmp_path):
    """Links out of docs/ (to configs/<method>/README.md) are allowed; a
    broken link between pages fails the build."""
    src = tmp_path / 'src'
    src.mkdir()
    shutil.copy(osp.join(DOCS, 'conf.py'), src / 'conf.py')
    (src / 'index.md').write_text(
        '# Index\n\n```{toctree}\n:glob:\n\npages/*\n```\n')
    (src / 'pages').mkdir()
    page = src / 'pages' / 'a.md'
    page.write_text('# A\n\nSee [the README](../../configs/x/README.md) '
                    'and [get started](../index.md).\n')
    out = sphinx_build(src, tmp_path / 'ok')
    assert out.returncode == 0, out.stderr[-3000:]
    page.write_text(page.read_text() + '\nAnd [a typo](../get_startd.md).\n')
    out = sphinx_build(src, tmp_path / 'bad')
    assert out.returncode != 0
    assert 'get_startd' in out.stderr and 'configs/x' not in out.stderr
