"""Intake: every door a document enters by and the spool that keeps it.

The printer's sink (``sink.py``), the hot folder, the CUPS backend and its queue all end in
one durable hand-off.  This ``__init__`` stays import-free: the CUPS backend runs as user
``lp`` and imports only ``connect_core.intake.cups_backend`` and ``ipp``.
"""
