"""Fixtures: one fake vendor server per test session (reset per test), an HTTP client and limiters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.domain.usage import Vendor
from bot.simulators.serving import ServedApp, served
from bot.vendors.base import ConnectionConfig, make_http_client
from bot.vendors.limiter import LimiterRegistry

from .fakes import SECRET, FakeVendor


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[FakeVendor, ServedApp]]:
    fake = FakeVendor()
    with served(fake.app) as handle:
        yield fake, handle


@pytest.fixture
def fake(_server: tuple[FakeVendor, ServedApp]) -> Iterator[FakeVendor]:
    vendor, _ = _server
    vendor.reset()
    yield vendor
    vendor.reset()


@pytest.fixture
def base_url(_server: tuple[FakeVendor, ServedApp]) -> str:
    return _server[1].url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = make_http_client(connect_timeout=2.0, read_timeout=2.0)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def limiters() -> LimiterRegistry:
    """Per-minute limits become per-few-milliseconds: tests exercise pacing without waiting for it."""
    return LimiterRegistry(time_scale=6000.0)


@pytest.fixture
def make_config(base_url: str) -> Callable[..., ConnectionConfig]:
    def build(vendor: Vendor, *, suffix: str = "", **options: Any) -> ConnectionConfig:
        return ConnectionConfig(
            key=f"test:{vendor.value}",
            name=vendor.value,
            vendor=vendor,
            base_url=base_url + suffix,
            secret=SecretStr(options.pop("secret", SECRET)),
            **options,
        )

    return build
