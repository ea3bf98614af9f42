"""``rgl <tool> [args...]``: run a shipped tools/ script from any folder.

    rgl train CONFIG [--work-dir DIR] ...       # tools/train.py
    rgl train rgl::digits/smallconvnet_1xb64-20e_digits.py   # a shipped one
    rgl test CONFIG CHECKPOINT ...              # tools/test.py
    rgl certify CONFIG CHECKPOINT --out x.tsv   # tools/certify.py
    rgl sample CONFIG CHECKPOINT --out DIR      # tools/sample.py
    rgl dist-train CONFIG NUM_PROCS ...         # tools/dist_train.sh
    rgl get_flops CONFIG --shape 1 16 16        # tools/analysis_tools/...
    rgl tools                                   # every tool (= rgl list tools)
    rgl list [--family F] [--task T] [--dataset D]   # the model zoo

A tool runs exactly as ``python tools/<tool>.py`` does in a checkout (its
flags, exit codes and errors are the script's), with the working directory
on the import path, as in mmpretrain's tools: a config's
``custom_imports = dict(imports=['my_project'])`` finds ``./my_project``
without ``PYTHONPATH=.``, in this process and in the processes a tool
starts (``dist-train``, data loader workers). ``_base_ = 'rgl::...'``
in a config, and an argument ``rgl::<method>/<config>.py``, resolve to the
configs shipped with rgl. ``rgl list`` prints the model zoo (every shipped
config with its results; :mod:`rgl.cli.zoo`).
"""
import ast
import difflib
import os
import os.path as osp
import runpy
import shutil
import sys

from rgl.utils.assets import (find_tool, list_tools, register_config_package,
                              shipped_path)
from rgl.version import __version__

USAGE = ('usage: rgl [-h] [--version] TOOL [ARGS...]\n'
         '       rgl tools    (every tool)\n'
         '       rgl list     (the model zoo: every config with its results)')
#: tools shown first in ``rgl tools``
MAIN_TOOLS = ('train', 'test', 'certify', 'sample', 'dist_train', 'dist_test',
              'dist_certify')


def _summary(path):
    """First line of a tool's docstring (.py) or header comment (.sh)."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError:
        return ''
    if path.endswith('.py'):
        try:
            doc = ast.get_docstring(ast.parse(text)) or ''
        except SyntaxError:
            doc = ''
        return doc.strip().splitlines()[0] if doc.strip() else ''
    for line in text.splitlines()[1:]:
        if line.startswith('#') and line.strip('# '):
            return line.strip('# ')
        if not line.startswith('#'):
            break
    return ''


def _display_names(tools):
    """``name -> shown``: ``dist-train`` for the main tools, the bare file
    name where it is unique (``get_flops``), else the path in tools/."""
    stems = [t.rsplit('/', 1)[-1] for t in tools]
    shown = {}
    for name in tools:
        stem = name.rsplit('/', 1)[-1]
        if name in MAIN_TOOLS:
            shown[name] = name.replace('_', '-')
        else:
            shown[name] = stem if stems.count(stem) == 1 else name
    return shown


def print_tools(file=None):
    file = file or sys.stdout
    tools = list_tools()
    order = [t for t in MAIN_TOOLS if t in tools] + sorted(
        t for t in tools if t not in MAIN_TOOLS)
    shown = _display_names(tools)
    print(USAGE, file=file)
    print(f'\nTools (from {shipped_path("tools")}):', file=file)
    width = min(22, max((len(s) for s in shown.values()), default=0))
    for name in order:
        line = f'  {shown[name]:<{width}}  {_summary(tools[name])}'
        print(line if len(line) <= 79 else line[:76] + '...', file=file)
    print('\n`rgl TOOL -h` shows the options of a tool; `rgl list` the '
          'model zoo\n(every shipped config with its results: `rgl list '
          '-h`).', file=file)


def _with_cwd_on_pythonpath(env):
    cwd = os.getcwd()
    old = env.get('PYTHONPATH')
    env['PYTHONPATH'] = cwd if not old else cwd + os.pathsep + old
    return env


def run_python_tool(script, args):
    """Run ``script`` in this process as ``python script args`` would."""
    cwd = os.getcwd()
    # sys.path[0] is the script's folder, as for `python script`; then the
    # working directory for the user's own modules (custom_imports)
    sys.path[:1] = [osp.dirname(osp.abspath(script)), cwd]
    _with_cwd_on_pythonpath(os.environ)
    sys.argv = [script] + list(args)
    runpy.run_path(script, run_name='__main__')
    return 0


def run_shell_tool(script, args):
    """Run a shell tool (dist/slurm launchers) with bash."""
    bash = shutil.which('bash')
    if bash is None:
        print(f'error: {osp.basename(script)} needs bash, which is not on '
              'PATH', file=sys.stderr)
        return 2
    env = _with_cwd_on_pythonpath(dict(os.environ))
    # the launchers start `python`: make it this interpreter
    bindir = osp.dirname(sys.executable)
    env['PATH'] = bindir + os.pathsep + env.get('PATH', '')
    argv = [bash, script] + list(args)
    if os.name == 'posix':
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(bash, argv, env)
    import subprocess
    return subprocess.call(argv, env=env)


def expand_config_args(args):
    """``rgl::<method>/<config>.py`` arguments -> the shipped config file,
    so ``rgl train rgl::digits/smallconvnet_1xb64-20e_digits.py`` runs
    rgl's own config unchanged from any folder."""
    out = []
    for arg in args:
        if arg.startswith('rgl::'):
            path = shipped_path('configs', *arg[len('rgl::'):].split('/'))
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{arg}: rgl ships no such config (looked for {path})')
            arg = path
        out.append(arg)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ('-h', '--help', 'help'):
        print_tools()
        return 0 if argv else 2
    if argv[0] == '--version':
        print(f'rgl {__version__}')
        return 0
    if argv[0] == 'tools' or argv[:2] == ['list', 'tools']:
        print_tools()
        return 0
    if argv[0] == 'list':
        from .zoo import main as list_zoo
        return list_zoo(argv[1:])
    name, args = argv[0], argv[1:]
    script = find_tool(name)
    if script is None:
        names = list(list_tools())
        close = difflib.get_close_matches(
            name, sorted(set(_display_names(names).values())), n=3)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        print(f'error: unknown tool {name!r}{hint} (`rgl tools` shows all)',
              file=sys.stderr)
        return 2
    register_config_package()
    try:
        args = expand_config_args(args)
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if script.endswith('.sh'):
        return run_shell_tool(script, args)
    return run_python_tool(script, args)


if __name__ == '__main__':
    sys.exit(main())
