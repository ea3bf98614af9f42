"""Print a config after inheritance and --cfg-options:
``python tools/misc/print_config.py CONFIG [--cfg-options k=v ...]``."""
import argparse

from mmengine.config import DictAction

from rgl.utils.cli import run_cli
from rgl.utils.config import load_config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    print(cfg.pretty_text)


if __name__ == '__main__':
    run_cli(main)
