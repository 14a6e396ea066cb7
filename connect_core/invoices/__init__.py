"""Invoices: the type, their states and the actions each allows, who may see them, their history,
the service functions the CLI, the web and the workers call, and retention."""
