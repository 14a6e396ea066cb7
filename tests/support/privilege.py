"""The few steps of the tests that need root, run the same way as root or as a normal user with sudo.

``make test`` runs as root in CI and as an ordinary developer with sudo on a workstation: mounting a
small file system, making network namespaces and installing the service need root; everything
they then run (the product, a browser of DNS-SD) runs as the user who started the tests.
"""

from __future__ import annotations

import os

ROOT = os.geteuid() == 0


def as_root(argv: list[str]) -> list[str]:
    """``argv`` run as root: as it is for root, through ``sudo -n`` otherwise (never asking for a password)."""
    return argv if ROOT else ["sudo", "-n", "--preserve-env", "--", *argv]


def as_me(argv: list[str]) -> list[str]:
    """Inside :func:`as_root`, ``argv`` run again as the user running the tests (with their groups)."""
    if ROOT:
        return argv
    return ["setpriv", f"--reuid={os.getuid()}", f"--regid={os.getgid()}", "--init-groups", "--", *argv]


def in_netns(namespace: str, argv: list[str]) -> list[str]:
    """``argv`` run inside network namespace ``namespace`` as the user running the tests."""
    return as_root(["ip", "netns", "exec", namespace, *as_me(argv)])


def in_new_netns(argv: list[str]) -> list[str]:
    """``argv`` run inside a new, empty network namespace (loopback only) as the user running the tests."""
    return as_root(["unshare", "--net", "--", *as_me(argv)])
