import os
import os.path as osp
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(args, cwd=REPO_ROOT, env=None, timeout=600):
    """Run ``python tools/<script> ...`` (or a shell script) from the repo
    root and return the CompletedProcess (stdout and stderr captured)."""
    full_env = dict(os.environ)
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.pop('RGL_DEBUG', None)
    full_env.update(env or {})
    cmd = list(args)
    if cmd[0].endswith('.py'):
        cmd = [sys.executable] + cmd
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def tool():
    return run_tool


@pytest.fixture(autouse=True)
def _reset_mmengine_globals():
    """mmengine keeps global singletons (scope, logger, message hub); reset
    them so tests do not see each other's runners."""
    yield
    from mmengine.registry import DefaultScope
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.visualization import Visualizer
    for cls in (DefaultScope, MessageHub, MMLogger, Visualizer):
        cls._instance_dict.clear()


@pytest.fixture(autouse=True)
def _private_rgl_cache(tmp_path_factory, monkeypatch):
    """rgl's disk caches (WinCLIP text prototypes) go to a folder of the test
    session, not the user's ~/.cache; a test may set its own."""
    if 'RGL_CACHE_DIR' not in os.environ:
        monkeypatch.setenv('RGL_CACHE_DIR',
                           str(tmp_path_factory.getbasetemp() / 'rgl_cache'))
