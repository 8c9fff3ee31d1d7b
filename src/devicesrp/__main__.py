"""``python -m devicesrp`` runs the command line."""

import sys

from devicesrp.cli import main

sys.exit(main())
