"""What a source file imports, read from its syntax tree: the ground truth of the import-boundary tests.

Read without importing, so a test sees every import, including those a guard or a function body hides.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import bot

PACKAGE = Path(bot.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, by dotted name.

    ``from bot.x import y`` gives ``bot.x`` and ``bot.x.y``, so ``from bot import services`` counts as
    importing ``bot.services``.
    """
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def within(module: str, packages: tuple[str, ...]) -> bool:
    """``module`` is one of ``packages`` or inside one (``bot.vendorsish`` is not inside ``bot.vendors``)."""
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def sources(*parts: str) -> Iterator[Path]:
    """The Python files of ``bot/<parts...>`` (a package or a single module), sorted."""
    target = PACKAGE.joinpath(*parts)
    if target.suffix == ".py":
        yield target
        return
    yield from sorted(target.rglob("*.py"))


def module_name(path: Path) -> str:
    """``bot/slack/router.py`` -> ``bot.slack.router``; a package's ``__init__.py`` -> the package."""
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)
