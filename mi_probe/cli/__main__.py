"""``python -m mi_probe.cli``: the same as the ``mi-probe`` command."""

import sys

from . import main

sys.exit(main())
