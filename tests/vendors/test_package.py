"""Package rules: the import boundary, the factory, and reprs without secrets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import bot.vendors
from bot.domain.usage import Vendor
from bot.vendors import CursorClient, LimiterRegistry, RestClient, WindsurfClient, make_client
from bot.vendors.base import DEFAULT_BASE_URLS, ConnectionConfig
from tests.support.imports import imported_modules

from .fakes import SECRET

FORBIDDEN_PACKAGES = ("bot.slack", "bot.store", "bot.services", "bot.simulators")


def test_vendors_never_import_slack_store_services_or_simulators() -> None:
    package = Path(bot.vendors.__file__).parent
    for source in sorted(package.glob("*.py")):
        for module in imported_modules(source):
            assert not module.startswith(FORBIDDEN_PACKAGES), f"{source.name} imports {module}"


@pytest.mark.parametrize(
    ("vendor", "kind"),
    [(Vendor.CURSOR, CursorClient), (Vendor.WINDSURF, WindsurfClient), (Vendor.REST, RestClient)],
)
def test_factory_builds_the_right_client(
    make_config: Callable[..., ConnectionConfig],
    http: httpx.AsyncClient,
    vendor: Vendor,
    kind: type,
) -> None:
    config = make_config(vendor)
    client = make_client(config, http=http, limiters=LimiterRegistry())
    assert isinstance(client, kind)
    assert client.config is config
    assert SECRET not in repr(client) + repr(config) + str(config)


def test_clients_refuse_a_connection_of_another_vendor(
    make_config: Callable[..., ConnectionConfig], http: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match="Cursor"):
        CursorClient(make_config(Vendor.WINDSURF), http=http, limiters=LimiterRegistry())
    with pytest.raises(ValueError, match="Windsurf"):
        WindsurfClient(make_config(Vendor.CURSOR), http=http, limiters=LimiterRegistry())


def test_default_base_urls_are_the_documented_ones() -> None:
    assert DEFAULT_BASE_URLS[Vendor.CURSOR] == "https://api.cursor.com"
    assert DEFAULT_BASE_URLS[Vendor.WINDSURF] == "https://server.codeium.com/api/v1"
