import os
import os.path as osp
import re
import shutil

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# configs, tools and bundled assets ship inside the package, in rgl/.mim/,
# as OpenMMLab packages do: `_base_ = 'rgl::repa/sit_b.py'` and the `rgl`
# command find them there (rgl/utils/assets.py).
MIM_FILES = ('configs', 'tools', 'assets')


def get_version():
    with open(osp.join(HERE, 'rgl', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(fname):
    """Requirement lines of ``fname``, following ``-r`` includes."""
    reqs = []
    with open(osp.join(HERE, fname)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


def add_mim_extension():
    """Make rgl/.mim/{configs,tools,assets} point at the repository's.

    The repository carries them as relative symlinks, so that a source
    checkout and an editable install (``pip install -e .``) see the live
    files. Where a checkout has lost them (git with ``core.symlinks=false``
    writes the link target into a text file) they are recreated, and copied
    where the platform cannot link. A wheel always gets copies: setuptools
    copies the files the links lead to.
    """
    mim = osp.join(HERE, 'rgl', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim, name)
        if not osp.isdir(src) or osp.isdir(dst):
            continue  # an sdist (no repo folders) or already in place
        if osp.lexists(dst):
            os.remove(dst)
        try:
            os.symlink(osp.join('..', '..', name), dst)
        except OSError:
            shutil.copytree(src, dst)


def mim_package_data():
    """``rgl/.mim`` file patterns: the model index and every shipped file
    (bytecode and caches excluded by MANIFEST.in and here)."""
    patterns = ['.mim/model-index.yml']
    for name in MIM_FILES:
        root = osp.join(HERE, 'rgl', '.mim', name)
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames[:] = [d for d in dirnames if d != '__pycache__']
            rel = osp.relpath(dirpath, osp.join(HERE, 'rgl'))
            patterns += [
                osp.join(rel, f).replace(os.sep, '/') for f in filenames
                if not f.endswith(('.pyc', '.pyo'))
            ]
    return patterns


add_mim_extension()

setup(
    name='rgl',
    version=get_version(),
    packages=find_packages(
        exclude=('configs', 'tools', 'tests', 'tests.*', 'docs', 'docs.*',
                 'examples', 'examples.*')),
    include_package_data=True,
    package_data={'rgl': mim_package_data()},
    entry_points={'console_scripts': ['rgl = rgl.cli.main:main']},
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'tests': parse_requirements('requirements/tests.txt'),
        'optional': parse_requirements('requirements/optional.txt'),
        'docs': parse_requirements('requirements/docs.txt'),
    },
    python_requires='>=3.9',
    zip_safe=False,
)
