"""Accounts: the status page's users, their sessions and login throttling."""
