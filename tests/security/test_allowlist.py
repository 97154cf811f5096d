"""The outbound URL allowlist."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from evaluators.allowlist import check_url
from schemas.errors import URLNotAllowedError
from service.errors import status_of

LOCAL = ["127.0.0.1", "localhost", "::1"]


def fake_dns(table: dict[str, list[str]]) -> Any:
    """A getaddrinfo stand-in: this machine has no DNS for public or link-local names."""

    def resolve(host: str, port: int, type: int = 0) -> list[Any]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port)) for a in table[host]]

    return resolve


def test_listed_hosts_pass_with_real_resolution() -> None:
    assert check_url("http://127.0.0.1:8080/v1", LOCAL, False) == "http://127.0.0.1:8080/v1"
    assert check_url("http://localhost:9000/generate", LOCAL, False).startswith("http://localhost")
    assert check_url("https://[::1]:8443/", LOCAL, False)


def test_unlisted_host_is_refused_naming_host_and_setting() -> None:
    with pytest.raises(URLNotAllowedError, match="UNLEARN_AUDIT_ALLOWED_HOSTS") as err:
        check_url("http://10.0.0.5:8000/", LOCAL, False)
    assert "10.0.0.5:8000" in err.value.message and status_of(type(err.value)) == 403


def test_host_port_entries_pin_the_port() -> None:
    allowed = ["127.0.0.1:8080", "[::1]:9000"]
    assert check_url("http://127.0.0.1:8080/", allowed, False)
    assert check_url("http://[::1]:9000/", allowed, False)
    with pytest.raises(URLNotAllowedError):
        check_url("http://127.0.0.1:8081/", allowed, False)
    with pytest.raises(URLNotAllowedError):
        check_url("http://127.0.0.1/", allowed, False)  # default port 80


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://localhost/", "127.0.0.1"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(URLNotAllowedError, match="scheme"):
        check_url(url, ["*", *LOCAL], False)


def test_malformed_urls() -> None:
    with pytest.raises(URLNotAllowedError, match="malformed"):
        check_url("http://127.0.0.1:99999/", LOCAL, False)
    with pytest.raises(URLNotAllowedError, match="no host"):
        check_url("http:///path", LOCAL, False)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.10.1/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_link_local_and_metadata_refused_even_when_listed(url: str) -> None:
    host = url.split("//")[1].split("/")[0].strip("[]")
    with pytest.raises(URLNotAllowedError, match="UNLEARN_AUDIT_ALLOW_LINK_LOCAL"):
        check_url(url, ["*", host], False)
    assert check_url(url, [host], True) == url


def test_metadata_name_refused_before_resolution() -> None:
    with pytest.raises(URLNotAllowedError, match="metadata"):
        check_url("http://metadata.google.internal/computeMetadata/v1/", ["*", "metadata.google.internal"], False)


def test_a_name_resolving_to_link_local_is_refused() -> None:
    dns = fake_dns({"models.example.com": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(URLNotAllowedError, match=r"169\.254\.169\.254"):
        check_url("https://models.example.com/v1", ["models.example.com"], False, resolve=dns)
    assert check_url("https://models.example.com/v1", ["models.example.com"], True, resolve=dns)


def test_wildcard_allows_public_hosts_only() -> None:
    dns = fake_dns({"api.example.com": ["93.184.216.34"], "intranet.example.com": ["10.1.2.3"]})
    assert check_url("https://api.example.com/v1", ["*"], False, resolve=dns)
    with pytest.raises(URLNotAllowedError, match="non-public"):
        check_url("https://intranet.example.com/", ["*"], False, resolve=dns)
    with pytest.raises(URLNotAllowedError, match="non-public"):
        check_url("http://127.0.0.1:8080/", ["*"], False)
    # listing a private host explicitly allows it alongside the wildcard
    assert check_url("https://intranet.example.com/", ["*", "intranet.example.com"], False, resolve=dns)


def test_unresolvable_name_is_refused() -> None:
    with pytest.raises(URLNotAllowedError, match="cannot be resolved"):
        check_url("https://nowhere.invalid/", ["nowhere.invalid"], False, resolve=fake_dns({}))


def test_bad_allowlist_entry_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="UNLEARN_AUDIT_ALLOWED_HOSTS"):
        check_url("http://127.0.0.1/", ["127.0.0.1:http"], False)


@pytest.mark.parametrize("host", ["2852039166", "0xa9fea9fe", "169.254.43518"])
def test_numeric_spellings_of_the_metadata_address_are_refused(host: str) -> None:
    # getaddrinfo (real, no DNS needed) reads these as 169.254.169.254, as curl and libc would.
    with pytest.raises(URLNotAllowedError, match=r"169\.254\.169\.254"):
        check_url(f"http://{host}/latest/meta-data/", ["*", host], False)
