import re

CFG = 'configs/digits/smallconvnet_1xb64-20e_digits.py'


def test_print_config_applies_cfg_options(tool):
    out = tool(['tools/misc/print_config.py', CFG, '--cfg-options',
                'model.num_classes=7'])
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'num_classes=7' in out.stdout
    assert "default_scope = 'rgl'" in out.stdout


def test_get_flops_matches_a_hand_count(tool):
    out = tool(['tools/analysis_tools/get_flops.py', CFG, '--shape', '1',
                '16', '16'])
    assert out.returncode == 0, out.stderr[-2000:]
    gflops, mparams = map(float, re.search(
        r'([\d.]+) GFLOPs, ([\d.]+) M parameters', out.stdout).groups())
    # convs (MACs): 1->32 @16², 32->32 s2 @8², 32->64 @8², 64->64 s2 @4²
    convs = 32 * 9 * 256 + 32 * 32 * 9 * 64 + 64 * 32 * 9 * 64 + \
        64 * 64 * 9 * 16
    assert convs <= gflops * 1e9 <= convs * 1.05  # + BN, pooling, head
    params = (9 * 32 + 32 * 32 * 9 + 32 * 64 * 9 + 64 * 64 * 9 +
              2 * (32 + 32 + 64 + 64) + 64 * 10 + 10)
    assert round(mparams * 1e6) // 100 == params // 100
