"""Named crash points for tests: the process dies at once where a test asks it to.

``PAGERO_CRASH_AT=after_spool_fsync`` makes :func:`crash_point` with that name kill
the process with SIGKILL, as a power cut or ``kill -9`` would, so crash tests loop
over every point instead of killing at a lucky moment.  Several names may be given,
separated by commas.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    # the printer's durable hand-off
    "after_spool_fsync",
    "before_commit",
    "after_commit_before_reply",
)
INTAKE_POINTS = (
    # the pipeline after a document is stored
    "after_commit_before_reply",
    "during_conversion",
    "before_invoice_commit",
)


def crash_point(name: str) -> None:
    """Die here, now, if the environment names this point."""
    wanted = os.environ.get("PAGERO_CRASH_AT")
    if wanted and name in wanted.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
