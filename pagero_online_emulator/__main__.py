"""``python -m pagero_online_emulator --listen 127.0.0.1:8700 --data-dir DIR``."""

import sys

from pagero_online_emulator.command import main

sys.exit(main())
