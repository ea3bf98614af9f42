"""Shared plumbing of the tools/ entry points: one clear error per bad
input instead of a deep traceback (``RGL_DEBUG=1`` shows the traceback)."""
import difflib
import os
import re
import sys

from .errors import RglError

_UNREGISTERED = re.compile(r'(\S+) is not in the (\S+?)::(\S+) registry')


def _registry_suggestions(name, registry_name):
    import rgl.registry as reg
    for attr in reg.__all__:
        registry = getattr(reg, attr)
        if getattr(registry, 'name', None) != registry_name:
            continue
        registry.import_from_location()
        names = list(registry.module_dict)
        if registry.parent is not None:
            names += list(registry.parent.module_dict)
        return difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return []


def _cfg_option_in_traceback(err):
    """The ``KEY=VALUE`` string mmengine's ``DictAction`` failed to parse
    when ``err`` was raised there (``--cfg-options foo``), else None."""
    from mmengine.config import DictAction
    code = DictAction.__call__.__code__
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return str(tb.tb_frame.f_locals.get('kv', '?'))
        tb = tb.tb_next
    return None


def _config_syntax_message(err):
    """A config's syntax error, named by file and line. mmengine parses
    configs without a file name ("<unknown>"), so the config files on the
    command line (and their local ``_base_`` files) are parsed again to
    find it; a syntax error elsewhere (a bug) keeps its traceback."""
    from .config import _syntax_error_in
    candidates = [a for a in sys.argv[1:] if a.endswith('.py')
                  and os.path.isfile(a)]
    for path in candidates:
        found = _syntax_error_in(path)
        if found:
            file, found_err = found
            return (f'syntax error in config {file}, line '
                    f'{found_err.lineno}: {found_err.msg}')
    return None


def user_error_message(err):
    """Return a one-paragraph message for errors caused by user input, or
    None for anything else (a bug, which keeps its traceback)."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args \
        else str(err)
    if isinstance(err, RglError):
        return text
    if isinstance(err, SyntaxError):
        return _config_syntax_message(err)
    if isinstance(err, (ValueError, AssertionError)):
        option = _cfg_option_in_traceback(err)
        if option is None:
            return None
        if '=' not in option:
            return (f'--cfg-options {option!r}: expected KEY=VALUE, e.g. '
                    'train_dataloader.batch_size=32')
        return (f'--cfg-options {option!r}: cannot parse the value ({text}); '
                'quote lists and tuples whole, e.g. "a.b=[1,2]"')
    if isinstance(err, KeyError):
        match = _UNREGISTERED.search(text)
        if match:
            name, _, registry = match.groups()
            msg = (f'unknown type {name!r}: it is not registered in rgl\'s '
                   f'`{registry}` registry (nor in mmengine\'s)')
            close = _registry_suggestions(name, registry)
            if close:
                msg += f'; did you mean {", ".join(map(repr, close))}?'
            return msg + ('. Other packages\' modules need their scope, '
                          "e.g. type='mmpretrain.ResNet'.")
        if 'must contain the key "type"' in text:
            return f'a config dict has no `type` key: {text}'
        return None
    if isinstance(err, TypeError) and re.search(
            r'missing \d+ required|unexpected keyword', text):
        return f'bad arguments in config: {text}'
    if isinstance(err, FileNotFoundError):
        # mmengine's Config.fromfile says "does not exist" for a directory
        quoted = re.search(r'file "(.+)" does not exist', text)
        if quoted and os.path.isdir(quoted.group(1)):
            return f'{quoted.group(1)} is a directory, not a file'
        return text if err.filename is None else \
            f'file not found: {err.filename}'
    if isinstance(err, (IsADirectoryError, PermissionError)) and \
            err.filename is not None:
        return f'cannot open {err.filename}: {err.strerror}'
    return None


def run_cli(main):
    """Call ``main()``; report user errors in one line and exit 2.

    The working directory joins the end of ``sys.path`` first: ``python
    path/to/rgl/tools/train.py my_config.py`` puts only ``tools/`` there, and
    a config's ``custom_imports`` of the user's own modules would not be
    found (at the end, a module of the working directory cannot shadow an
    installed one).
    """
    cwd = os.getcwd()
    if cwd not in sys.path and '' not in sys.path:
        sys.path.append(cwd)
    try:
        return main()
    except (RglError, KeyError, TypeError, ValueError, AssertionError,
            OSError, SyntaxError) as err:
        message = user_error_message(err)
        if message is None or os.environ.get('RGL_DEBUG'):
            raise
        print(f'error: {message}', file=sys.stderr)
        sys.exit(2)
