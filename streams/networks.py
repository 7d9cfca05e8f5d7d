"""IP ACL entries: one IPv4 or IPv6 address or CIDR range each, stored normalised.

Entries are strict: ``10.1.2.3/8`` is refused rather than read as ``10.0.0.0/8``, since an
address with host bits under a prefix is usually a mistyped prefix, and widening it silently
would let sixteen million addresses in where one was meant. An IPv4 address written as IPv6
(``::ffff:203.0.113.7``) is kept as the IPv4 one, which is how the peer is compared
(``textpeak.lib.client_ip``).
"""

import ipaddress

from django.core.exceptions import ValidationError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# IPv4-mapped IPv6 addresses, ::ffff:0:0/96.
_MAPPED_PREFIX = 96


def _network(text: str) -> Network:
    try:
        return ipaddress.ip_network(text)
    except ValueError:
        pass
    try:
        meant = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValidationError(
            f"“{text}” is not an IPv4 or IPv6 address or CIDR range "
            "(for example 203.0.113.7, 2001:db8::1 or 198.51.100.0/24)."
        ) from None
    raise ValidationError(f"{text} has host bits set: did you mean {meant}?")


def normalize(value: str) -> str:
    """``"203.0.113.7"`` → ``"203.0.113.7/32"``, ``"2001:DB8::/48"`` → ``"2001:db8::/48"``,
    ``"::ffff:203.0.113.7"`` → ``"203.0.113.7/32"``; a range with host bits set is refused."""
    text = value.strip()
    if not text:
        raise ValidationError("Enter an IP address or a CIDR range.")
    network = _network(text)
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is not None and network.prefixlen >= _MAPPED_PREFIX:
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - _MAPPED_PREFIX}")
    return str(network)


def validate_stored(value: object) -> None:
    """A model's list of entries holds each as ``normalize`` writes it (checked when one is
    saved other than through the console's form, e.g. in Django admin)."""
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise ValidationError("The IP ACL is a list of addresses and CIDR ranges, as strings.")
    for entry in value:
        network = normalize(entry)
        if network != entry:
            raise ValidationError(f"Write {entry} as {network}.")


def allows(entries: list[str], address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the address is in one of the entries. An entry that is not a network as
    ``normalize`` writes it allows nothing: the ACL fails closed."""
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry)
        except (TypeError, ValueError):
            continue
        if address in network:
            return True
    return False


def display(network: str) -> str:
    """A network as people write it: a single address without its /32 or /128."""
    net = ipaddress.ip_network(network)
    return str(net.network_address) if net.num_addresses == 1 else str(net)
