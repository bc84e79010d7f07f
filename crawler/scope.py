"""Where a source's crawl may go: its configured origins and allowed domains, nothing else."""

from __future__ import annotations

import ipaddress
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


def _is_special_address(host: str) -> bool:
    """Loopback, private, link-local (cloud metadata 169.254.169.254), multicast or reserved."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified)


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
