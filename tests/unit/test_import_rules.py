"""Who may import whom: the arrows of docs/architecture.md, checked on every import in the code.

Function-level imports count too (they are how a module reaches another lazily), and so do
``import x.y`` and ``from x import y`` alike.  A rule names a package (or module) and the
packages it must never reach.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.harness import REPO

PACKAGES = ("ipp", "printer_backend", "connect_core", "pagero_online_emulator")

RULES: list[tuple[str, tuple[str, ...], str]] = [
    ("ipp", ("connect_core", "printer_backend", "pagero_online_emulator"),
     "the printer knows nothing of invoices, conversion or storage: it talks to a sink"),
    ("printer_backend", ("connect_core", "ipp", "pagero_online_emulator"),
     "conversion knows nothing of IPP or invoices"),
    ("pagero_online_emulator", ("connect_core", "ipp", "printer_backend"),
     "the emulator stands in for Pagero Online, which knows nothing of us"),
    ("connect_core.web", ("connect_core.store.schema", "sqlalchemy"),
     "the web holds no SQL: it calls the service functions"),
    ("connect_core.pipeline", ("connect_core.web", "connect_core.cli"), "workers never reach the pages or the CLI"),
    ("connect_core.online", ("connect_core.web", "connect_core.cli"), "workers never reach the pages or the CLI"),
    ("connect_core.invoices", ("connect_core.web", "connect_core.cli", "connect_core.serve"),
     "the service layer is called by the edges, never the other way round"),
    ("connect_core.accounts", ("connect_core.web", "connect_core.cli", "connect_core.serve"),
     "the service layer is called by the edges, never the other way round"),
    ("connect_core.received", ("connect_core.web", "connect_core.cli", "connect_core.serve"),
     "the service layer is called by the edges, never the other way round"),
    ("connect_core.received.einvoice", ("connect_core.online", "connect_core.store", "connect_core.invoices"),
     "reading, rendering and naming a received invoice is pure: the inbound worker and the pages both use it"),
    ("connect_core.received.render", ("connect_core.online", "connect_core.store", "connect_core.invoices"),
     "reading, rendering and naming a received invoice is pure: the inbound worker and the pages both use it"),
    ("connect_core.received.names", ("connect_core.online", "connect_core.store", "connect_core.invoices"),
     "reading, rendering and naming a received invoice is pure: the inbound worker and the pages both use it"),
    ("connect_core.intake", ("connect_core.web", "connect_core.cli", "connect_core.pipeline", "connect_core.online"),
     "taking a document in never waits for what happens to it next"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def sources() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path)
            for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def reaches(imported: str, forbidden: str) -> bool:
    return imported == forbidden or imported.startswith(forbidden + ".")


@pytest.mark.parametrize(("owner", "forbidden", "why"), RULES, ids=[rule[0] for rule in RULES])
def test_no_import_crosses_a_forbidden_arrow(owner: str, forbidden: tuple[str, ...], why: str) -> None:
    modules = {name: imported for name, imported in sources().items() if reaches(name, owner)}
    assert modules, f"no module found under {owner}"
    broken = sorted(f"{name} imports {imported}" for name, imports in modules.items() for imported in imports
                    if any(reaches(imported, target) for target in forbidden))
    assert not broken, f"{why}:\n" + "\n".join(broken)


def test_the_scanner_sees_imports_inside_functions() -> None:
    """The check could fail: the arrows serve really has, and a lazy import inside a function, are found."""
    found = sources()
    assert "connect_core.web.app" in found["connect_core.serve"]
    assert any(reaches(name, "connect_core.serve") for name in found["connect_core.cli.system"])  # a lazy one
    assert any(reaches(name, "sqlalchemy") for name in found["connect_core.invoices.service"])
