"""What an IP address counts as for outbound requests: link-local or cloud metadata, public, or neither.

An IPv6 address that carries an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) reaches that
IPv4 address through a translator or tunnel, so it is judged as the IPv4 address(es) it embeds. Special-purpose
ranges are listed here rather than taken from `ipaddress.is_global`, whose table differs between Python
releases (3.11 counts multicast, 64:ff9b:1::/48 and 3fff::/20 as global).
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, Oracle and others
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud (inside shared address space 100.64/10)
    }
)

_NON_GLOBAL_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
    )
)

_NON_GLOBAL_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",  # unspecified
        "::1/128",  # loopback
        "100::/64",  # discard-only
        "100:0:0:1::/64",  # dummy prefix
        "2001::/23",  # IETF protocol assignments (Teredo inside is judged by what it embeds)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_LINK_LOCAL = (ipaddress.IPv4Network("169.254.0.0/16"), ipaddress.IPv6Network("fe80::/10"))

# RFC 6052 places the IPv4 bytes around byte 8 (reserved) by prefix length; a local-use NAT64 prefix inside
# 64:ff9b:1::/48 may be /48, /56, /64 or /96, so every placement is a candidate.
_RFC6052_V4_BYTES = {48: (6, 7, 9, 10), 56: (7, 9, 10, 11), 64: (9, 10, 11, 12), 96: (12, 13, 14, 15)}


def _v4_from(packed: bytes, positions: tuple[int, ...]) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(bytes(packed[i] for i in positions))


def embedded_ipv4(addr: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo server and client);
    [] for an IPv4 address or an IPv6 address that carries none."""
    if isinstance(addr, ipaddress.IPv4Address):
        return []
    bare = ipaddress.IPv6Address(addr.packed)  # without a zone ("%eth0"), which network tests ignore anyway
    if bare in _MAPPED:
        return [_v4_from(bare.packed, (12, 13, 14, 15))]
    if bare in _COMPATIBLE and int(bare) > 1:  # :: and ::1 are unspecified and loopback, not IPv4
        return [_v4_from(bare.packed, (12, 13, 14, 15))]
    if bare in _NAT64:
        return [_v4_from(bare.packed, (12, 13, 14, 15))]
    if bare in _NAT64_LOCAL:
        return [_v4_from(bare.packed, positions) for positions in _RFC6052_V4_BYTES.values()]
    if bare.sixtofour is not None:
        return [bare.sixtofour]
    if bare.teredo is not None:
        return list(bare.teredo)
    return []


def counts_as(addr: IPAddress) -> list[IPAddress]:
    """The addresses `addr` is judged as: what it embeds, else itself."""
    return list(embedded_ipv4(addr)) or [addr]


def _link_local_or_metadata(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        addr = ipaddress.IPv6Address(addr.packed)
    return addr in METADATA_ADDRESSES or any(addr in net for net in _LINK_LOCAL if net.version == addr.version)


def is_link_local_or_metadata(addr: IPAddress) -> bool:
    """True for link-local (169.254/16, fe80::/10) and cloud metadata addresses, also when embedded."""
    return any(_link_local_or_metadata(a) for a in [addr, *counts_as(addr)])


def _special(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv4Address):
        return any(addr in net for net in _NON_GLOBAL_V4) or not addr.is_global
    bare = ipaddress.IPv6Address(addr.packed)
    return any(bare in net for net in _NON_GLOBAL_V6) or not bare.is_global


def is_public(addr: IPAddress) -> bool:
    """True when every address `addr` counts as is globally routable (in no special-purpose range)."""
    return not any(_special(a) for a in counts_as(addr))
