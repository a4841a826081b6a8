"""Package rules of the store: it keeps rows and knows nothing above it, nor any vendor.

The store speaks the domain's usage model (``bot.domain.usage``); if it imported a vendor client, the
Slack layer or a service, a change there could break persistence and the layers would form a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bot.store

FORBIDDEN_PACKAGES = ("bot.vendors", "bot.slack", "bot.services", "bot.simulators")


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, ``from bot import x`` counted as ``bot.x``."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def _is_forbidden(module: str) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in FORBIDDEN_PACKAGES)


def test_store_never_imports_vendors_slack_services_or_simulators() -> None:
    package = Path(bot.store.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert package / "migrations" / "env.py" in sources
    offences = [
        f"{source.relative_to(package)} imports {module}"
        for source in sources
        for module in sorted(imported_modules(source))
        if _is_forbidden(module)
    ]
    assert offences == []


def test_the_rule_catches_every_spelling_of_a_vendor_import(tmp_path: Path) -> None:
    source = tmp_path / "offender.py"
    source.write_text(
        "import bot.vendors.cursor\nfrom bot import services\nfrom bot.slack.router import Router\n"
        "from bot.domain.usage import SpendRow\nimport bot.vendorsish\n"
    )
    forbidden = {module for module in imported_modules(source) if _is_forbidden(module)}
    assert forbidden == {"bot.vendors.cursor", "bot.services", "bot.slack.router", "bot.slack.router.Router"}
