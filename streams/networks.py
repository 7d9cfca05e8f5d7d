"""IP ACL entries: one IPv4 or IPv6 address or CIDR range each, stored normalised."""

import ipaddress

from django.core.exceptions import ValidationError


def normalize(value: str) -> str:
    """``"203.0.113.7"`` → ``"203.0.113.7/32"``, ``"2001:DB8::1/48"`` → ``"2001:db8::/48"``."""
    text = value.strip()
    if not text:
        raise ValidationError("Enter an IP address or a CIDR range.")
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise ValidationError(
            f"“{text}” is not an IPv4 or IPv6 address or CIDR range "
            "(for example 203.0.113.7, 2001:db8::1 or 198.51.100.0/24)."
        ) from None


def display(network: str) -> str:
    """A network as people write it: a single address without its /32 or /128."""
    net = ipaddress.ip_network(network)
    return str(net.network_address) if net.num_addresses == 1 else str(net)
