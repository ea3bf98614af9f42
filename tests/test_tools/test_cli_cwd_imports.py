"""A tool run from the user's folder finds the user's own modules named in
a config's ``custom_imports`` (the working directory joins sys.path)."""
import os.path as osp

from conftest import REPO_ROOT


def test_custom_imports_from_the_working_directory(tool, tmp_path):
    (tmp_path / 'my_parts.py').write_text(
        "print('my_parts imported')\n")
    (tmp_path / 'my_cfg.py').write_text(
        "custom_imports = dict(imports=['my_parts'], "
        "allow_failed_imports=False)\nmodel = dict(type='Nothing')\n")
    script = osp.join(REPO_ROOT, 'tools/misc/print_config.py')
    out = tool([script, 'my_cfg.py'], cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'my_parts imported' in out.stdout
    assert "type='Nothing'" in out.stdout
