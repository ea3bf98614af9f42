"""Files rgl ships beside its code: configs, tools and bundled assets.

An installed rgl keeps them in ``rgl/.mim/`` as OpenMMLab packages do
(``mmpretrain/.mim``): copies in a wheel, links to the repository's
``configs/``, ``tools/`` and ``assets/`` in a source checkout or an editable
install. Everything here works the same in both cases:

- :func:`resolve_asset` turns a config's ``'assets/encoders/x.pth'`` into the
  shipped file when the working directory has no such file, so the REPA
  digits configs run from any folder;
- :func:`register_config_package` lets mmengine resolve
  ``_base_ = 'rgl::repa/sit_b.py'`` in a downstream project's config;
- :func:`find_tool` and :func:`list_tools` serve the ``rgl`` command.
"""
import os
import os.path as osp

#: the package directory (``.../site-packages/rgl`` or ``<repo>/rgl``)
PACKAGE_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: the folders of shipped files, as named in configs and under ``.mim/``
SHIPPED = ('configs', 'tools', 'assets')


def mim_root():
    """The folder holding ``configs/``, ``tools/`` and ``assets/``.

    ``rgl/.mim`` when present; else the repository root of a source
    checkout (the parent of the package) when that has ``configs/``.
    """
    mim = osp.join(PACKAGE_ROOT, '.mim')
    if osp.isdir(osp.join(mim, 'configs')):
        return mim
    repo = osp.dirname(PACKAGE_ROOT)
    if osp.isdir(osp.join(repo, 'configs')) and osp.isdir(
            osp.join(repo, 'tools')):
        return repo
    return mim


def shipped_path(*parts):
    """Path of a shipped file, e.g. ``shipped_path('configs', 'repa')``."""
    return osp.join(mim_root(), *parts)


def resolve_asset(path):
    """Resolve a relative ``assets/...`` (or ``configs/...``) path.

    A path that exists as given (relative to the working directory, or
    absolute) is returned unchanged, so a user's own file always wins. A
    relative path that does not exist and starts with one of the shipped
    folders (``assets/``, ``configs/``) resolves to rgl's shipped copy when
    that exists. Anything else is returned unchanged, for the caller to
    report as missing.

    Args:
        path (str | os.PathLike | None): a path from a config.

    Returns:
        str | None: the path to open (``None`` stays ``None``).
    """
    if path is None:
        return None
    path = os.fspath(path)
    if osp.isabs(path) or osp.exists(path):
        return path
    parts = osp.normpath(path).replace('\\', '/').split('/')
    if len(parts) > 1 and parts[0] in ('assets', 'configs'):
        shipped = shipped_path(*parts)
        if osp.exists(shipped):
            return shipped
    return path


def list_tools():
    """Shipped tools as ``{name: path}``.

    Names are paths below ``tools/`` without the suffix (``train``,
    ``analysis_tools/get_flops``, ``dist_train``).
    """
    root = shipped_path('tools')
    found = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(('.', '_')))
        for fname in sorted(filenames):
            stem, ext = osp.splitext(fname)
            if ext not in ('.py', '.sh') or stem.startswith('_'):
                continue
            rel = osp.relpath(osp.join(dirpath, stem), root)
            found.setdefault(rel.replace(os.sep, '/'),
                             osp.join(dirpath, fname))
    return found


def find_tool(name):
    """The script of tool ``name``, or ``None``.

    ``name`` may use ``-`` for ``_`` (``dist-train``), carry a suffix
    (``train.py``), name a subfolder (``analysis_tools/get_flops``) or, when
    unambiguous, only the file name (``get_flops``).
    """
    tools = list_tools()
    key = name.replace('\\', '/')
    for suffix in ('.py', '.sh'):
        if key.endswith(suffix):
            key = key[:-len(suffix)]
    for candidate in (key, key.replace('-', '_')):
        if candidate in tools:
            return tools[candidate]
        by_stem = [p for k, p in tools.items()
                   if k.rsplit('/', 1)[-1] == candidate]
        if len(by_stem) == 1:
            return by_stem[0]
    return None


def register_config_package():
    """Let mmengine resolve ``'rgl::<method>/<config>.py'`` base configs.

    mmengine 0.10 only knows a fixed list of OpenMMLab packages
    (``MODULE2PACKAGE``) and finds a package's ``.mim`` through the
    distribution's install location, which is not the package folder for an
    editable install. This adds ``rgl`` to that list and answers mmengine's
    path lookup for ``rgl`` with this package's folder; other packages are
    looked up as before. Idempotent; ``import rgl`` calls it.
    """
    from mmengine.config import config as mm_config
    from mmengine.config import utils as mm_utils
    mm_utils.MODULE2PACKAGE.setdefault('rgl', 'rgl')
    if getattr(mm_config.get_installed_path, '_rgl_aware', False):
        return
    installed_path = mm_config.get_installed_path
    is_installed = mm_config.is_installed

    # rgl is imported, hence installed: answering here also spares rgl::
    # paths mmengine's pkg_resources lookups (deprecated, and gone in
    # setuptools >= 81)
    def rgl_is_installed(package):
        return package == 'rgl' or is_installed(package)

    def rgl_installed_path(package):
        return PACKAGE_ROOT if package == 'rgl' else installed_path(package)

    rgl_installed_path._rgl_aware = True
    mm_config.is_installed = rgl_is_installed
    mm_config.get_installed_path = rgl_installed_path
