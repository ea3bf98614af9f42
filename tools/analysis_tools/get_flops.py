"""FLOPs and parameters of a config's model, counted by fvcore on one input:
``python tools/analysis_tools/get_flops.py CONFIG --shape 3 32 32``.

fvcore counts one fused multiply-add as one FLOP (the convention of the
DiT/SiT papers' GFLOPs)."""
import argparse

import torch
from mmengine.config import DictAction
from mmengine.registry import DefaultScope

import rgl  # noqa: F401
from rgl.utils.cli import run_cli
from rgl.utils.config import load_config
from rgl.utils.errors import DataError, require_keys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs='+', required=True,
                        help='input shape without the batch, e.g. 3 32 32')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    require_keys(cfg, ['model'], where=args.config)

    from fvcore.nn import FlopCountAnalysis, parameter_count

    from rgl.registry import MODELS
    with DefaultScope.overwrite_default_scope('rgl'):
        model = MODELS.build(cfg.model).eval()
    x = torch.rand(1, *args.shape)
    try:  # one plain forward: a --shape the model cannot take fails here
        with torch.no_grad():
            model(x)
    except (DataError, RuntimeError) as err:  # RuntimeError: torch's
        # shape errors inside models without an input check (timm, ...)
        reason = str(err).strip().splitlines()[-1] if str(err) else \
            type(err).__name__
        raise DataError(f'--shape {" ".join(map(str, args.shape))} does '
                        f'not fit {args.config}: {reason}') from err
    flops = FlopCountAnalysis(model, (x, )).unsupported_ops_warnings(
        False).uncalled_modules_warnings(False)
    params = parameter_count(model)['']
    print(f'input {tuple(x.shape)}: {flops.total() / 1e9:.4f} GFLOPs, '
          f'{params / 1e6:.4f} M parameters')


if __name__ == '__main__':
    run_cli(main)
