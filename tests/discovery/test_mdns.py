"""A phone on the LAN finds the box: browse, resolve port, TXT and host; renames on conflicts; goodbyes."""

from __future__ import annotations

import asyncio

from zeroconf import AddressResolver, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser

from appliance.discovery.mdns import MdnsAdvertiser, host_label, local_addresses

IMMICH = "_immich._tcp.local."
HTTP = "_http._tcp.local."


def _txt(info) -> dict[str, str]:
    return {k.decode(): (v or b"").decode() for k, v in info.properties.items()}


async def _wait_for(predicate, what: str, tries: int = 100) -> None:
    """Bounded polling: at most `tries` × 0.05 s."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def test_a_browser_finds_both_services_and_resolves_port_txt_and_host(
    start_advertiser, client, name: str, host: str
) -> None:
    await start_advertiser()
    seen: dict[str, set[str]] = {IMMICH: set(), HTTP: set()}

    ours = name

    def on_change(zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        # zeroconf passes these by keyword, hence `name`; other test runs may share the loopback.
        if state_change is ServiceStateChange.Added and name.startswith(f"{ours}."):
            seen[service_type].add(name)

    browser = AsyncServiceBrowser(client.zeroconf, [IMMICH, HTTP], handlers=[on_change])
    try:
        await _wait_for(lambda: all(seen.values()), "both service types to be browsed")
    finally:
        await browser.async_cancel()
    assert seen == {IMMICH: {f"{name}.{IMMICH}"}, HTTP: {f"{name}.{HTTP}"}}

    for service_type in (IMMICH, HTTP):
        info = await client.async_get_service_info(service_type, f"{name}.{service_type}", timeout=3000)
        assert info is not None
        assert info.port == 2283
        assert info.server == host
        assert info.parsed_addresses() == ["127.0.0.1"]
        assert _txt(info) == {
            "path": "/",
            "api": "/api",
            "vendor": "shoebox",
            "version": "0.1.0",
            "model": "Raspberry Pi 5",
            "id": "4f7c1e9a-0000-4000-8000-000000000001",
        }


async def test_the_host_name_resolves_to_the_box(start_advertiser, client, host: str) -> None:
    await start_advertiser()

    resolver = AddressResolver(host)
    assert await resolver.async_request(client.zeroconf, 3000)
    assert resolver.parsed_addresses() == ["127.0.0.1"]


async def test_a_second_box_with_the_same_name_is_renamed(
    start_advertiser, resolve, name: str, host: str
) -> None:
    first = await start_advertiser(port=2283)
    # Another box on the LAN: same name, its own address.
    second = await start_advertiser(port=2284, address_source=lambda: ["127.0.0.2"])

    assert first.instance_names == [f"{name}.{IMMICH}", f"{name}.{HTTP}"]
    assert second.instance_names == [f"{name}-2.{IMMICH}", f"{name}-2.{HTTP}"]
    assert (first.hostname, second.hostname) == (host, host.replace(".local.", "-2.local."))
    info = await resolve(IMMICH, f"{name}-2.{IMMICH}")
    assert info is not None
    assert (info.port, info.server, info.parsed_addresses()) == (
        2284,
        host.replace(".local.", "-2.local."),
        ["127.0.0.2"],
    )


async def test_a_host_name_held_by_avahi_on_this_same_box_is_kept(
    start_advertiser, name: str, host: str
) -> None:
    # Same host name and same addresses: the same machine answering twice, not a conflict.
    await start_advertiser(port=2283)
    same_box = await start_advertiser(name=f"Photos {name}", hostname=name, port=2284)

    assert same_box.hostname == host


async def test_changed_addresses_are_re_announced(start_advertiser, resolve, name: str) -> None:
    addresses = ["127.0.0.1"]
    advertiser = await start_advertiser(address_source=lambda: list(addresses))

    assert not await advertiser.check_addresses()
    addresses.append("127.0.0.3")
    assert await advertiser.check_addresses()

    info = await resolve(HTTP, f"{name}.{HTTP}")
    assert info is not None
    assert sorted(info.parsed_addresses()) == ["127.0.0.1", "127.0.0.3"]


async def test_the_address_watch_polls_by_itself(start_advertiser, resolve, name: str) -> None:
    addresses = ["127.0.0.1"]
    advertiser = await start_advertiser(address_source=lambda: list(addresses), check_interval=0.05)

    addresses[:] = ["127.0.0.4"]
    await _wait_for(lambda: advertiser.addresses == ["127.0.0.4"], "the watch to pick up the new address")

    info = await resolve(IMMICH, f"{name}.{IMMICH}")
    assert info is not None
    assert "127.0.0.4" in info.parsed_addresses()


async def test_updated_txt_is_seen_by_a_new_client(start_advertiser, resolve, name: str) -> None:
    advertiser = await start_advertiser()

    await advertiser.update(properties={"version": "0.2.0"})

    info = await resolve(IMMICH, f"{name}.{IMMICH}")
    assert info is not None
    assert _txt(info)["version"] == "0.2.0"
    assert advertiser.properties["version"] == "0.2.0"


async def test_stop_sends_goodbyes_that_a_browser_sees(start_advertiser, client, name: str) -> None:
    advertiser = await start_advertiser()
    states: list[ServiceStateChange] = []
    ours = f"{name}.{IMMICH}"

    def on_change(zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if name == ours:
            states.append(state_change)

    browser = AsyncServiceBrowser(client.zeroconf, IMMICH, handlers=[on_change])
    try:
        await _wait_for(lambda: ServiceStateChange.Added in states, "the service to be browsed")
        await advertiser.stop()
        await _wait_for(lambda: ServiceStateChange.Removed in states, "the goodbye")
    finally:
        await browser.async_cancel()
    assert not advertiser.running
    await advertiser.stop()  # twice is fine


def test_host_labels_are_dns_safe() -> None:
    assert host_label("Photo Box (Living Room)") == "photo-box-living-room"
    assert host_label("shoebox") == "shoebox"
    assert host_label("!!!") == "shoebox"
    assert len(host_label("x" * 100)) == 63


def test_explicit_addresses_are_used_as_given_and_loopback_is_never_a_lan_address() -> None:
    assert local_addresses(["127.0.0.1"]) == ["127.0.0.1"]
    assert all(not address.startswith("127.") for address in local_addresses())
    by_name = local_addresses(["lo"])  # an interface name gives that interface's addresses
    assert by_name[0] == "127.0.0.1"
    assert not any(address.startswith("fe80") for address in by_name)


async def test_an_advertiser_that_was_never_started_stops_quietly() -> None:
    await MdnsAdvertiser("Shoebox", 2283, {}, ["127.0.0.1"], "id").stop()


async def test_interfaces_given_by_name_are_followed_when_addresses_change(
    start_advertiser, resolve, name: str
) -> None:
    addresses = ["127.0.0.1"]
    # "lo" is a name, not an address: the sockets follow the interface's addresses as they change.
    advertiser = await start_advertiser(interfaces=["lo"], address_source=lambda: list(addresses))

    addresses.append("127.0.0.5")
    assert await advertiser.check_addresses()

    info = await resolve(HTTP, f"{name}.{HTTP}")
    assert info is not None
    assert sorted(info.parsed_addresses()) == ["127.0.0.1", "127.0.0.5"]
