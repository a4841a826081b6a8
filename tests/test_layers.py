"""The layers of design.md section 3, checked on the source: who may import whom, and one error tree.

Each boundary reads the imports of every file of a layer (``tests.support.imports``). A boundary that
does not hold yet is marked ``xfail(strict=True)`` with the issue item that fixes it, so it turns into a
failure ("XPASS") the day it holds and the mark must go. ``bot.vendors`` has its own in
``tests/vendors/test_package.py``.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from bot.domain.errors import SpendbotError
from tests.support.imports import PACKAGE, imported_modules, module_name, sources, within

STATEMENT_BUILDERS = (
    *(
        f"{package}.{name}"
        for package in ("sqlmodel", "sqlalchemy")
        for name in ("select", "insert", "update", "delete", "func", "text")
    ),
    "sqlalchemy.dialects",
    "sqlalchemy.sql",
)
"""What building a statement takes: seeing one of these imported in a service is seeing SQL in it."""
SIMULATOR_USERS = ("bot.simulators", "bot.console")
"""Besides the tests: the simulators themselves, and the console and demo (``bot.console``) that run them."""
OUTSIDE_THE_TREE = ("bot.simulators", "bot.store.migrations")
"""Not walked for errors: the simulators stand for other people's servers; migrations run under Alembic."""


def crossings(layer: str, forbidden: tuple[str, ...], *, allowed: tuple[str, ...] = ()) -> list[str]:
    """``file imports module`` for each import of ``bot/<layer>`` that starts with a forbidden prefix."""
    found = []
    for source in sources(*layer.split("/")):
        for module in sorted(imported_modules(source)):
            if within(module, forbidden) and not within(module, allowed):
                found.append(f"{source.relative_to(PACKAGE.parent)} imports {module}")
    return found


def test_the_domain_imports_nothing_of_ours_outside_the_domain() -> None:
    assert crossings("domain", ("bot",), allowed=("bot.domain",)) == []


def test_messages_import_only_the_domain() -> None:
    assert (PACKAGE / "messages").is_dir()
    assert crossings("messages", ("bot",), allowed=("bot.domain", "bot.messages")) == []


def test_services_never_import_the_slack_layer() -> None:
    assert crossings("services", ("bot.slack",)) == []


def test_services_make_messages_only_through_the_renderers() -> None:
    """Services hand view models to ``bot.messages``; the Block Kit builders are the renderers' own."""
    assert crossings("services", ("bot.messages.blocks", "slack_sdk.models")) == []


def test_services_leave_their_sql_to_the_store() -> None:
    """Statements are built in ``bot/store`` repositories; a service opens a transaction and calls them."""
    found = []
    for source in sources("services"):
        found += [
            f"{source.relative_to(PACKAGE.parent)} imports {module}"
            for module in sorted(imported_modules(source))
            if within(module, STATEMENT_BUILDERS)
        ]
    assert found == []


def test_the_slack_layer_shows_what_the_renderers_draw_and_builds_no_block_kit() -> None:
    """``bot/slack`` holds listeners and the router: it may pass a ``Message`` on, never build blocks."""
    builders = [
        crossing
        for crossing in crossings("slack", ("bot.messages.blocks", "slack_sdk.models"))
        if not crossing.endswith((" bot.messages.blocks", " bot.messages.blocks.Message"))
    ]
    assert builders == []


def test_the_store_knows_nothing_above_it_nor_any_vendor() -> None:
    assert crossings("store", ("bot.vendors", "bot.slack", "bot.services", "bot.simulators")) == []


def test_a_crossing_is_seen_in_every_spelling_of_an_import(tmp_path: Path) -> None:
    source = tmp_path / "offender.py"
    source.write_text(
        "import bot.vendors.cursor\nfrom bot import services\nfrom bot.slack.router import Router\n"
        "from bot.domain.usage import SpendRow\nimport bot.vendorsish\n"
    )
    forbidden = ("bot.vendors", "bot.slack", "bot.services")
    assert {m for m in imported_modules(source) if within(m, forbidden)} == {
        "bot.vendors.cursor",
        "bot.services",
        "bot.slack.router",
        "bot.slack.router.Router",
    }


def test_the_slack_layer_goes_through_services_not_vendors() -> None:
    assert crossings("slack", ("bot.vendors",)) == []


def test_the_simulators_share_no_code_with_the_vendor_clients() -> None:
    assert crossings("simulators", ("bot.vendors",)) == []


def test_only_tests_console_and_demo_import_the_simulators() -> None:
    found = []
    for source in sources():
        if module_name(source).startswith(SIMULATOR_USERS):
            continue
        found += [
            f"{source.name} imports {m}" for m in imported_modules(source) if m.startswith("bot.simulators")
        ]
    assert found == []


def our_errors() -> dict[str, type[BaseException]]:
    """Every exception class defined in ``bot`` (outside the simulators and migrations), by qualified name."""
    errors: dict[str, type[BaseException]] = {}
    for source in sources():
        name = module_name(source)
        if name.startswith(OUTSIDE_THE_TREE) or Path(source).name == "__main__.py":
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name:
                errors[f"{name}.{value.__qualname__}"] = value
    return errors


def test_every_error_of_ours_descends_from_one_base() -> None:
    errors = our_errors()
    assert "bot.vendors.errors.RateLimited" in errors and "bot.services.errors.NotFound" in errors  # walked
    outside = sorted(name for name, error in errors.items() if not issubclass(error, SpendbotError))
    assert outside == []


def test_the_tree_drawn_in_the_docstring_names_every_error() -> None:
    drawn = inspect.getdoc(importlib.import_module("bot.domain.errors")) or ""
    missing = sorted(name for name, error in our_errors().items() if error.__name__ not in drawn)
    assert missing == []
