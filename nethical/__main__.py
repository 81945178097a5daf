"""``python -m nethical ...`` is the ``nethical`` command."""

import sys

from nethical.cli import main

sys.exit(main())
