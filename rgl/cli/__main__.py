"""``python -m rgl.cli TOOL ...``: the ``rgl`` command without the
console script (e.g. when its folder is not on PATH)."""
import sys

from .main import main

sys.exit(main())
