"""mDNS on loopback only: advertisers and a browsing client bound to 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from appliance.discovery.mdns import MdnsAdvertiser

LOOPBACK = ["127.0.0.1"]

Resolve = Callable[[str, str], Awaitable[AsyncServiceInfo | None]]


@pytest.fixture
def name() -> str:
    """An instance name of this test's own, so test runs sharing the machine's loopback never clash."""
    return f"Shoebox-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def host(name: str) -> str:
    """The `.local` host name the advertiser derives from `name`."""
    return f"{name.lower()}.local."


@pytest.fixture
async def advertisers() -> AsyncIterator[list[MdnsAdvertiser]]:
    """Advertisers a test starts go in this list; they are stopped afterwards."""
    started: list[MdnsAdvertiser] = []
    yield started
    for advertiser in started:
        await advertiser.stop()


@pytest.fixture
async def start_advertiser(
    advertisers: list[MdnsAdvertiser], name: str
) -> Callable[..., Awaitable[MdnsAdvertiser]]:
    default_name = name

    async def start(name: str = default_name, port: int = 2283, **kwargs: object) -> MdnsAdvertiser:
        options: dict = {
            "properties": {"version": "0.1.0", "model": "Raspberry Pi 5"},
            "interfaces": LOOPBACK,
            "host_id": "4f7c1e9a-0000-4000-8000-000000000001",
            "check_interval": 0,
            "probe_timeout": 1.0,
        }
        options.update(kwargs)
        advertiser = MdnsAdvertiser(name, port, **options)
        advertisers.append(advertiser)
        await advertiser.start()
        return advertiser

    return start


@pytest.fixture
async def client() -> AsyncIterator[AsyncZeroconf]:
    """A separate zeroconf instance, like a phone on the LAN, that browses and resolves."""
    zc = AsyncZeroconf(interfaces=LOOPBACK, ip_version=IPVersion.V4Only)
    yield zc
    await zc.async_close()


@pytest.fixture
def resolve() -> Resolve:
    """Resolve a service with a fresh client each time, so nothing comes from an earlier cache."""

    async def resolve(service_type: str, name: str) -> AsyncServiceInfo | None:
        zc = AsyncZeroconf(interfaces=LOOPBACK, ip_version=IPVersion.V4Only)
        try:
            return await zc.async_get_service_info(service_type, name, timeout=3000)
        finally:
            await zc.async_close()

    return resolve
