"""The address of the person at the other end of a request, for login throttling and API rate limits.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only when the connection comes
from a configured trusted proxy (`TRUSTED_PROXIES`, addresses or networks). Behind a chain of trusted proxies
the client is the right-most address of the header that is not itself a trusted proxy: every address left of
it was written by the client and proves nothing."""

import ipaddress
from functools import lru_cache

from django.conf import settings

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address, networks: tuple[IpNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or the forwarded client when REMOTE_ADDR is a trusted proxy."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if not networks or not _trusted(_parse(remote), networks):
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for part in reversed(forwarded):
        address = _parse(part)
        if address is None:
            # A garbled hop: nothing left of it can be believed; the last trusted hop is the best we know.
            return remote
        if not _trusted(address, networks):
            return str(address)
    return remote
