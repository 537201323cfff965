"""Advertising the box on the LAN with mDNS/DNS-SD (python-zeroconf, asyncio).

Announces `_immich._tcp` and `_http._tcp` with TXT records, a `<name>.local` host (renamed
`<name>-2.local` … when another device holds it), renames the instance on a conflict, re-announces
when the box's addresses change, and says goodbye on stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Mapping, Sequence

import psutil
from zeroconf import AddressResolver, InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

log = logging.getLogger(__name__)

SERVICE_TYPES = ("_immich._tcp.local.", "_http._tcp.local.")
DEFAULT_TXT = {"path": "/", "api": "/api", "vendor": "shoebox"}
# Interfaces that are not the LAN: containers, VMs, bridges made by them.
_VIRTUAL_PREFIXES = ("docker", "veth", "br-", "virbr", "lxc", "lxd", "cni", "flannel", "podman", "vnet", "zt")
_MAX_NAME_TRIES = 20

AddressSource = Callable[[], Sequence[str]]


def host_label(name: str) -> str:
    """A DNS label for `<label>.local` from a display name: lower case, letters, digits and dashes."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-")
    return label or "shoebox"


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def local_addresses(interfaces: Sequence[str] | None = None) -> list[str]:
    """The box's LAN addresses, IPv4 first.

    `interfaces` entries may be addresses (kept as they are) or interface names (their addresses).
    Without it: every interface that is up, minus loopback, container/VM interfaces, and IPv6
    link-local addresses (they need a scope that a TXT-less A/AAAA record can't carry).
    """
    if interfaces and all(_is_ip(entry) for entry in interfaces):
        return list(dict.fromkeys(interfaces))
    stats = psutil.net_if_stats()
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for ifname, addrs in psutil.net_if_addrs().items():
        if interfaces is not None and ifname not in interfaces:
            continue
        if interfaces is None and ifname.startswith(_VIRTUAL_PREFIXES):
            continue
        if ifname in stats and not stats[ifname].isup:
            continue
        for addr in addrs:
            if addr.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            ip = ipaddress.ip_address(addr.address.split("%", 1)[0])
            if ip.is_link_local or (interfaces is None and ip.is_loopback):
                continue
            found.append(ip)
    explicit = [entry for entry in interfaces or () if _is_ip(entry)]
    ordered = sorted(found, key=lambda ip: (ip.version, int(ip)))
    return list(dict.fromkeys([*explicit, *(str(ip) for ip in ordered)]))


class MdnsAdvertiser:
    """Advertises one Shoebox server; `start()`, `update()`, `stop()` run on the server's event loop.

    `interfaces`: addresses or interface names to answer on (tests pass `["127.0.0.1"]`); None means
    every LAN interface, followed as they change. `address_source` returns the addresses to advertise
    (default: `local_addresses(interfaces)`); it is polled every `check_interval` seconds (0: never;
    tests call `check_addresses()` themselves). `probe_timeout`: how long to listen for another device
    answering for our instance or host name before taking it (start() waits this long once).
    """

    def __init__(
        self,
        name: str,
        port: int,
        properties: Mapping[str, str],
        interfaces: list[str] | None,
        host_id: str,
        *,
        hostname: str | None = None,
        address_source: AddressSource | None = None,
        check_interval: float = 30.0,
        probe_timeout: float = 1.0,
        service_types: Sequence[str] = SERVICE_TYPES,
    ) -> None:
        self.name = name
        self.port = port
        self.host_id = host_id
        self._properties = {**DEFAULT_TXT, "id": host_id, **properties}
        self._interfaces = list(interfaces) if interfaces is not None else None
        # Fixed addresses to listen on, or None to follow the LAN interfaces as they change.
        fixed = bool(self._interfaces) and all(map(_is_ip, self._interfaces or ()))
        self._fixed_bind = self._interfaces if fixed else None
        self._source = address_source or (lambda: local_addresses(self._interfaces))
        self._check_interval = check_interval
        self._probe_ms = int(probe_timeout * 1000)
        self._service_types = tuple(service_types)
        self._wanted_host = host_label(hostname or name)
        self.hostname = f"{self._wanted_host}.local."
        self.addresses: list[str] = []
        self._source_seen: list[str] = []
        self._zc: AsyncZeroconf | None = None
        self._infos: list[AsyncServiceInfo] = []
        self._watch: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._zc is not None

    @property
    def instance_names(self) -> list[str]:
        """The full service names as registered (after any conflict renaming)."""
        return [info.name for info in self._infos]

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._properties)

    async def start(self) -> None:
        """Probe the names, register both services and start watching addresses. Takes a few seconds."""
        if self._zc is not None:
            return
        self.addresses = list(self._source())
        self._source_seen = list(self.addresses)
        bind = self._fixed_bind or self.addresses
        self._zc = AsyncZeroconf(interfaces=bind or InterfaceChoice.All, ip_version=_ip_version(bind))
        try:
            self.hostname, instance = await asyncio.gather(self._free_hostname(), self._free_instance())
            infos = [self._info(service_type, instance) for service_type in self._service_types]
            # zeroconf probes again while registering and renames on a conflict it sees then.
            await asyncio.gather(*(self._register(info) for info in infos))
            self._infos = infos
        except BaseException:
            await self._close()
            raise
        log.info(
            "mDNS: advertising %s as %s on port %d at %s",
            ", ".join(self.instance_names),
            self.hostname,
            self.port,
            ", ".join(self.addresses) or "no address yet",
        )
        if self._check_interval > 0:
            self._watch = asyncio.create_task(self._watch_addresses(), name="mdns-addresses")

    async def update(
        self, properties: Mapping[str, str] | None = None, addresses: Sequence[str] | None = None
    ) -> None:
        """Change TXT entries and/or the advertised addresses and re-announce them."""
        if properties is not None:
            self._properties.update(properties)
        if addresses is not None:
            self.addresses = list(dict.fromkeys(addresses))
        if self._zc is None:
            return
        if addresses is not None and self._fixed_bind is None and self.addresses:
            await self._rebind(self.addresses)
        renewed = [self._info(info.type, info.name[: -len(info.type) - 1]) for info in self._infos]
        for info in renewed:
            await (await self._zc.async_update_service(info))
        self._infos = renewed

    async def check_addresses(self) -> bool:
        """Look at the local addresses once; re-announce and return True if they changed."""
        current = list(self._source())
        if set(current) == set(self._source_seen):
            return False
        log.info("mDNS: addresses changed from %s to %s", self._source_seen, current)
        self._source_seen = current
        await self.update(addresses=current)
        return True

    async def stop(self) -> None:
        """Send goodbye packets and close the sockets. Safe to call twice."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self._zc is None:
            return
        try:
            for info in self._infos:
                await (await self._zc.async_unregister_service(info))
        finally:
            await self._close()
        log.info("mDNS: stopped advertising")

    async def _close(self) -> None:
        zc, self._zc, self._infos = self._zc, None, []
        if zc is not None:
            await zc.async_close()

    def _info(self, service_type: str, instance: str) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            service_type,
            f"{instance}.{service_type}",
            port=self.port,
            properties=dict(self._properties),
            server=self.hostname,
            parsed_addresses=self.addresses,
        )

    async def _register(self, info: AsyncServiceInfo) -> None:
        assert self._zc is not None
        announced = await self._zc.async_register_service(info, allow_name_change=True)
        await announced

    async def _free_instance(self) -> str:
        """`name`, or `name-N` when another responder answers for it under any of our service types.

        Asked outright before registering: zeroconf's own probes only notice a conflict whose answer is
        already cached, which a busy responder can miss.
        """
        assert self._zc is not None
        zc = self._zc.zeroconf
        for attempt in range(1, _MAX_NAME_TRIES + 1):
            candidate = self.name if attempt == 1 else f"{self.name}-{attempt}"
            infos = [AsyncServiceInfo(t, f"{candidate}.{t}") for t in self._service_types]
            answered = await asyncio.gather(*(info.async_request(zc, self._probe_ms) for info in infos))
            if not any(answered):
                return candidate
            log.warning("mDNS: the name %r is taken on this network; trying another", candidate)
        raise RuntimeError(f"no free service name after {_MAX_NAME_TRIES} tries for {self.name!r}")

    async def _free_hostname(self) -> str:
        """`<name>.local.`, or `<name>-N.local.` when another device answers for it.

        A name that resolves only to our own addresses is not a conflict: that is Avahi on this box.
        """
        assert self._zc is not None
        ours = set(self.addresses)
        for attempt in range(1, _MAX_NAME_TRIES + 1):
            label = self._wanted_host if attempt == 1 else f"{self._wanted_host[:59]}-{attempt}"
            host = f"{label}.local."
            resolver = AddressResolver(host)
            if not await resolver.async_request(self._zc.zeroconf, self._probe_ms):
                return host
            theirs = set(resolver.parsed_addresses())
            if theirs <= ours:
                return host
            log.warning("mDNS: %s is taken by %s; trying another name", host, ", ".join(sorted(theirs)))
        raise RuntimeError(f"no free host name after {_MAX_NAME_TRIES} tries for {self._wanted_host}.local")

    async def _rebind(self, addresses: Sequence[str]) -> None:
        assert self._zc is not None
        update_interfaces = getattr(self._zc, "async_update_interfaces", None)
        if update_interfaces is None:  # zeroconf older than the interface update API
            log.warning("mDNS: this zeroconf cannot follow interface changes; restart to pick them up")
            return
        await update_interfaces(interfaces=list(addresses), ip_version=_ip_version(addresses))

    async def _watch_addresses(self) -> None:
        while True:
            await asyncio.sleep(self._check_interval)
            try:
                await self.check_addresses()
            except Exception:  # keep watching: a failed re-announce is retried on the next change
                log.exception("mDNS: re-announcing after an address change failed")


def _ip_version(addresses: Sequence[str]) -> IPVersion:
    if any(_is_ip(a) and ipaddress.ip_address(a).version == 6 for a in addresses):
        return IPVersion.All
    return IPVersion.V4Only
