"""Where a source's crawl may go: its configured origins and allowed domains, nothing else."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.sources import Source


@dataclass(frozen=True)
class Scope:
    origins: frozenset[str]  # host[:port] exactly as configured
    domains: frozenset[str]  # allowed_domains: the domain and its subdomains, any port unless given

    @classmethod
    def for_source(cls, source: Source) -> Scope:
        return cls(frozenset(source.origins), frozenset(d.lower() for d in source.allowed_domains))

    def allows(self, url: str) -> bool:
        return scope_refusal(url, self) is None


# Numeric host spellings that resolvers accept as IPv4 (inet_aton): 2852039166, 0xa9fea9fe, 0251.0376.0251.0376,
# 10.1 ... An attacker-supplied link written this way must not slip past the literal-address check.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.I)


def _parse_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    host = host.strip("[]").lower()
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # fe80::1%eth0: zone ids are link-local
    except ValueError:
        if not _NUMERIC_HOST.match(host):
            return None
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return embedded  # ::ffff:10.0.0.1 reaches 10.0.0.1
    return address


def is_special_address(host: str) -> bool:
    """Loopback, private, link-local (cloud metadata 169.254.169.254), multicast, reserved or unspecified.

    `host` is an address literal in any spelling a resolver accepts; host names are not special
    here (the DNS-level check is crawler.middlewares.SafeResolver)."""
    address = _parse_address(host)
    if address is None:
        return False
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified)


_is_special_address = is_special_address  # the name the foundation used


def scope_refusal(url: str, scope: Scope | None) -> str | None:
    """None when the URL may be requested for this scope, else the reason it may not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme or 'none'!r}"
    host = (parts.hostname or "").lower()
    if not host:
        return "no host"
    if scope is None:
        return "no source for this request"
    netloc = parts.netloc.lower().rsplit("@", 1)[-1]
    if netloc in scope.origins:
        return None  # named explicitly in the registry, loopback test sites included
    for domain in scope.domains:
        if ":" in domain:
            if netloc == domain:
                return None
        elif host == domain or host.endswith("." + domain):
            if _is_special_address(host):
                break
            return None
    if _is_special_address(host):
        return f"address {host} is private, loopback or link-local and not named by the source"
    return f"host {netloc} is not one of the source's origins"
