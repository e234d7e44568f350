"""`python -m flows ...`: the command line (see `flows.cli`)."""

import sys

from .cli import main

sys.exit(main())
