"""``python -m printer_backend convert INPUT -o OUTPUT.pdf [--paper A4|Letter] [--json]``."""

import sys

from printer_backend.convert import main

sys.exit(main())
