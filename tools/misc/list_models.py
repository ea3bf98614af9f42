"""List the model zoo (configs/*/metafile.yml), filterable by family, task
and dataset: ``python tools/misc/list_models.py [--family F] [--task T]
[--dataset D] [NAME ...] [--details] [--format markdown] [--check]``.

The same as ``rgl list``; ``--update-doc docs/model_zoo.md`` regenerates
the documentation's table.
"""
import sys

from rgl.cli.zoo import main

if __name__ == '__main__':
    sys.exit(main(prog='list_models.py'))
