"""The core's exception family; each is turned into a user message at the edge."""


class ConnectError(Exception):
    """Base of every error the core raises on purpose."""


class ConfigError(ConnectError):
    """The configuration is wrong; the message names the key and the problem."""


class StoreError(ConnectError):
    """The store or spool is not in the state an action needs."""
