"""``python -m dotkmc.cli``: the same as the ``dotkmc`` command."""
import sys

from . import main

sys.exit(main())
