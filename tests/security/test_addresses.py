"""What an address counts as for outbound requests, and the policy's checks that need no server."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from evaluators.net import OutboundPolicy, checked_async_client
from evaluators.net.addresses import embedded_ipv4, is_link_local_or_metadata, is_public
from schemas.errors import URLNotAllowedError
from tests.security.outbound_servers import ScriptedDNS


def _ip(text: str) -> Any:
    return ipaddress.ip_address(text)


# (IPv6 address, the IPv4 addresses it embeds): every embedding form, with the metadata address inside.
EMBEDDED = [
    ("::ffff:169.254.169.254", ["169.254.169.254"]),  # IPv4-mapped
    ("::169.254.169.254", ["169.254.169.254"]),  # IPv4-compatible (deprecated)
    ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),  # NAT64 well-known prefix
    ("64:ff9b:1:a9fe:a9:fe00::", ["169.254.169.254", "254.169.254.0", "169.254.0.0", "0.0.0.0"]),  # local /48
    ("64:ff9b:1::a9fe:a9fe", ["0.0.0.0", "0.0.0.0", "0.0.0.169", "169.254.169.254"]),  # local, /96 inside
    ("2002:a9fe:a9fe::1", ["169.254.169.254"]),  # 6to4
    ("2001:0:4136:e378:8000:63bf:5601:5601", ["65.54.227.120", "169.254.169.254"]),  # Teredo: client
    ("2001:0:a9fe:a9fe::f7f7:f7f7", ["169.254.169.254", "8.8.8.8"]),  # Teredo: server
]


@pytest.mark.parametrize(("address", "embeds"), EMBEDDED)
def test_embedded_ipv4_counts_as_the_address_it_embeds(address: str, embeds: list[str]) -> None:
    assert [str(a) for a in embedded_ipv4(_ip(address))] == embeds
    assert is_link_local_or_metadata(_ip(address))
    assert not is_public(_ip(address))


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("::ffff:8.8.8.8", True),
        ("::ffff:10.0.0.1", False),
        ("::8.8.8.8", True),
        ("::127.0.0.1", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b::a00:1", False),
        ("2002:808:808::1", True),
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2001:0:4136:e378::f7f7:f7f7", True),  # Teredo: public server, public client 8.8.8.8
        ("2001:0:4136:e378::f5ff:fffe", False),  # Teredo: client 10.0.0.1
    ],
)
def test_embedded_ipv4_decides_publicness(address: str, public: bool) -> None:
    assert is_public(_ip(address)) is public
    assert not is_link_local_or_metadata(_ip(address))


NON_GLOBAL = [
    "0.0.0.0",
    "0.1.2.3",
    "10.1.2.3",
    "100.64.0.1",  # shared address space
    "100.100.100.200",  # Alibaba metadata, in shared address space
    "127.0.0.1",
    "169.254.1.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.9",
    "192.0.2.1",  # documentation
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",  # benchmarking
    "198.19.255.255",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::",
    "::1",
    "100::1",  # discard-only
    "2001:2::1",  # benchmarking
    "2001:db8::1",  # documentation
    "3fff::1",  # documentation
    "5f00::1",  # SRv6
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
]


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_special_purpose_ranges_are_not_public(address: str) -> None:
    assert not is_public(_ip(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "2001:4860::8888"])
def test_public_addresses(address: str) -> None:
    assert is_public(_ip(address)) and not is_link_local_or_metadata(_ip(address))


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0", "fd00:ec2::254", "100.100.100.200"]
)
def test_link_local_and_metadata(address: str) -> None:
    assert is_link_local_or_metadata(_ip(address))


def test_check_url_does_no_dns_and_judges_literals() -> None:
    def no_dns(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("check_url must not resolve")

    policy = OutboundPolicy(["models.example.com", "169.254.169.254", "*"], resolve=no_dns)
    assert policy.check_url("https://models.example.com/v1") == "https://models.example.com/v1"
    assert policy.check_url("https://anything.example.net/") == "https://anything.example.net/"
    with pytest.raises(URLNotAllowedError, match="UNLEARN_AUDIT_ALLOW_LINK_LOCAL"):
        policy.check_url("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(URLNotAllowedError, match="UNLEARN_AUDIT_ALLOW_LINK_LOCAL"):
        policy.check_url("http://[64:ff9b::a9fe:a9fe]/")
    with pytest.raises(URLNotAllowedError, match="non-public"):
        policy.check_url("http://[::ffff:10.0.0.1]/")  # admitted by '*' only
    with pytest.raises(URLNotAllowedError, match="metadata service"):
        policy.check_url("http://metadata.google.internal/")


@pytest.mark.parametrize(
    "answer",
    [
        ["::ffff:169.254.169.254"],
        ["64:ff9b::a9fe:a9fe"],
        ["2002:a9fe:a9fe::1"],
        ["2001:0:4136:e378:8000:63bf:5601:5601"],
        ["93.184.216.34", "169.254.169.254"],  # one good, one bad: refused
    ],
)
def test_resolve_checked_refuses_any_bad_address(answer: list[str]) -> None:
    policy = OutboundPolicy(["models.example.com"], resolve=ScriptedDNS({"models.example.com": [answer]}))
    with pytest.raises(URLNotAllowedError, match="link-local or metadata"):
        policy.resolve_checked("models.example.com", 443)


def test_resolve_checked_rules() -> None:
    dns = ScriptedDNS({"api.example.com": [["93.184.216.34", "2606:4700::1111"]], "intra.example.com": [["10.0.0.7"]]})
    wildcard = OutboundPolicy(["*"], resolve=dns)
    assert wildcard.resolve_checked("api.example.com", 443) == ["93.184.216.34", "2606:4700::1111"]
    with pytest.raises(URLNotAllowedError, match="non-public"):
        wildcard.resolve_checked("intra.example.com", 443)
    assert OutboundPolicy(["intra.example.com:8443"], resolve=dns).resolve_checked("intra.example.com", 8443)
    with pytest.raises(URLNotAllowedError, match="not allowed"):  # the port is pinned
        OutboundPolicy(["intra.example.com:8443"], resolve=dns).resolve_checked("intra.example.com", 443)
    with pytest.raises(OSError):
        wildcard.resolve_checked("nowhere.example.com", 443)


def test_only_admits_one_origin() -> None:
    policy = OutboundPolicy.only("http://127.0.0.1:8080/v1")
    assert policy.check_url("http://127.0.0.1:8080/other")
    for url in ("http://127.0.0.1:8081/", "http://localhost:8080/", "http://127.0.0.1/"):
        with pytest.raises(URLNotAllowedError):
            policy.check_url(url)
    assert OutboundPolicy.only("https://[::1]:8443/").check_url("https://[::1]:8443/x")


def test_idna_hosts_match_their_ascii_form() -> None:
    policy = OutboundPolicy(["bücher.example"])
    assert policy.check_url("http://xn--bcher-kva.example/")
    assert policy.check_url("http://BÜCHER.example./")


async def test_checked_client_refuses_options_that_bypass_it() -> None:
    for option in ({"transport": None}, {"mounts": {}}, {"proxy": "http://127.0.0.1:3128"}, {"trust_env": True}):
        with pytest.raises(TypeError, match="chooses its own"):
            checked_async_client(OutboundPolicy(), **option)
