"""Load a config for a tool, with one clear error per bad input.

:func:`load_config` is what ``tools/train.py`` (and any tool) calls instead
of ``Config.fromfile`` + ``merge_from_dict``: a missing, unreadable or
syntactically broken file, a ``--cfg-options`` value of the wrong type and a
batch size below one are reported as :class:`~rgl.utils.errors.ConfigError`
naming the file and line or the key, before mmengine's Runner is built (and
so before its 100-line config dump).
"""
import ast
import os
import os.path as osp

from .errors import ConfigError

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _syntax_error_in(path, seen=None):
    """Return ``(file, SyntaxError)`` for the first file of ``path``'s
    ``_base_`` chain (local files only) that does not parse, else None."""
    seen = set() if seen is None else seen
    path = osp.abspath(path)
    if path in seen or not osp.isfile(path):
        return None
    seen.add(path)
    if not path.endswith('.py'):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), filename=path)
    except SyntaxError as err:
        return path, err
    except (OSError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets)):
            continue
        try:
            bases = ast.literal_eval(node.value)
        except ValueError:
            return None
        for base in [bases] if isinstance(bases, str) else list(bases):
            if isinstance(base, str) and '::' not in base:
                found = _syntax_error_in(
                    osp.join(osp.dirname(path), base), seen)
                if found:
                    return found
    return None


def check_config_file(path):
    """Raise :class:`ConfigError` if ``path`` is not a readable, parsable
    config file (naming the file, and the line of a syntax error).
    ``pkg::path`` names are left to whoever resolves them."""
    if '::' in path:
        return
    if osp.isdir(path):
        raise ConfigError(f'config {path} is a directory, not a config file')
    if not osp.exists(path):
        raise ConfigError(f'config {path} does not exist')
    try:
        with open(path, 'rb') as f:
            f.read().decode('utf-8')
    except UnicodeDecodeError as err:
        raise ConfigError(f'config {path} is not a text (UTF-8) file: '
                          f'{err.reason} at byte {err.start}') from err
    except OSError as err:
        raise ConfigError(f'cannot read config {path}: '
                          f'{err.strerror or err}') from err
    found = _syntax_error_in(path)
    if found:
        file, err = found
        raise ConfigError(f'syntax error in config {file}, line {err.lineno}'
                          f': {err.msg}')


def _lookup(cfg, key):
    """The value at dotted ``key`` of ``cfg`` (list indices allowed), or a
    sentinel ``_MISSING``."""
    node = cfg
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and \
                int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'get') and part in node:
            node = node.get(part)
        else:
            return _MISSING
    return node


_MISSING = object()


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_option_types(cfg, options):
    """Raise :class:`ConfigError` for a ``--cfg-options`` value that is text
    where the config holds a number or a bool (``lr=abc``). ``None`` is
    always allowed (it unsets a key)."""
    for key, new in (options or {}).items():
        old = _lookup(cfg, key)
        if old is _MISSING or old is None or new is None:
            continue
        if (_is_number(old) or isinstance(old, bool)) and \
                isinstance(new, str):
            kind = 'true/false' if isinstance(old, bool) else 'a number'
            raise ConfigError(f'--cfg-options {key}={new!r}: expected '
                              f'{kind} (the config has {key}={old!r})')


def validate_config(cfg):
    """Checks that need no built object: every dataloader's ``batch_size``
    is an integer >= 1 and ``num_workers`` an integer >= 0."""
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not hasattr(loader, 'get'):
            continue
        size = loader.get('batch_size')
        if size is not None and (not _is_number(size) or size != int(size)
                                 or size < 1):
            raise ConfigError(f'{name}.batch_size must be an integer >= 1, '
                              f'got {size!r}')
        workers = loader.get('num_workers')
        if workers is not None and (not _is_number(workers)
                                    or workers != int(workers)
                                    or workers < 0):
            raise ConfigError(f'{name}.num_workers must be an integer >= 0, '
                              f'got {workers!r}')
    return cfg


def load_config(path, cfg_options=None, validate=True):
    """``Config.fromfile(path)`` merged with ``cfg_options`` (the parsed
    ``--cfg-options``), with the checks above.

    Args:
        path (str): the config file.
        cfg_options (dict, optional): dotted keys to override.
        validate (bool): run :func:`validate_config` after the merge. Tools
            that change the config further call it themselves.
    """
    from mmengine.config import Config
    check_config_file(path)
    cfg = Config.fromfile(path)
    if cfg_options:
        check_option_types(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return validate_config(cfg) if validate else cfg


def resolve_last_checkpoint(work_dir):
    """The checkpoint a ``--resume`` without a path continues, or None.

    mmengine's ``last_checkpoint`` file holds an absolute path, so a copied
    (or moved) work_dir would resume the original folder's checkpoint. A
    stored path whose file name exists inside ``work_dir`` resolves to that
    file; a relative path is taken relative to ``work_dir``; any other path
    is kept as stored.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        stored = f.read().strip()
    if not stored:
        return None
    if not osp.isabs(stored):
        return osp.join(work_dir, stored)
    local = osp.join(work_dir, osp.basename(stored))
    if osp.isfile(local):
        return local
    return stored


def check_writable(path, flag='--out'):
    """Raise :class:`ConfigError` naming ``flag`` unless the file ``path``
    can be created or replaced: its folder exists or can be made, and a file
    can be written there. Call it before any long work writes ``path``."""
    path = osp.abspath(path)
    if osp.isdir(path):
        raise ConfigError(f'{flag} {path} is a directory, not a file')
    folder = osp.dirname(path)
    probe = osp.join(folder, f'.rgl_write_test_{os.getpid()}')
    try:
        os.makedirs(folder, exist_ok=True)
        with open(probe, 'w'):
            pass
        os.remove(probe)
    except OSError as err:
        raise ConfigError(f'{flag} {path}: cannot write in '
                          f'{err.filename or folder}: '
                          f'{err.strerror or err}') from err
    if osp.exists(path) and not os.access(path, os.W_OK):
        raise ConfigError(f'{flag} {path}: the file exists and is not '
                          f'writable')
