"""The address a request really came from.

``REMOTE_ADDR`` is the connection's peer and cannot be forged. ``X-Forwarded-For`` is believed
only when that peer is one of ``TRUSTED_PROXIES``, and then read from the right, skipping our
own proxies, so a client cannot prepend an address of its choosing. An IPv4 address written as
IPv6 (``::ffff:203.0.113.7``) is the IPv4 address, for the IP ACL and login throttling alike.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _address(text: str) -> Address | None:
    """The address, an IPv4 one written as IPv6 (``::ffff:203.0.113.7``, as a dual-stack
    server sees IPv4 peers) as the IPv4 address it is; None if it is not an address."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


def _is_trusted_proxy(ip: Address) -> bool:
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the connection's peer is one of ``TRUSTED_PROXIES``, whose headers are believed."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and _is_trusted_proxy(peer)


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    peer = _address(remote)
    if peer is None:
        return remote
    if not _is_trusted_proxy(peer):
        return str(peer)
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:
            break
        if not _is_trusted_proxy(ip):
            return str(ip)
    return str(peer)


def axes_client_ip(request: HttpRequest) -> str:
    """django-axes asks for the client address through this hook; the answer is the same."""
    return client_ip(request)
