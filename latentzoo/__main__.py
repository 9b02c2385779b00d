"""`python -m latentzoo`: the command line (see latentzoo.cli)."""

import sys

from .cli import main

sys.exit(main())
