"""``python -m connect_core.cli``: the ``pagero-connect`` command."""

import sys

from connect_core.cli import main

sys.exit(main())
