"""HTTPS through the checked transport: the connection goes to the checked IP address, while TLS (SNI and the
certificate check) uses the URL's host name. A real TLS server on 127.0.0.1 with a certificate for a name that
only the injected resolver knows."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from evaluators.net import OutboundPolicy, checked_async_client
from tests.security.outbound_servers import ScriptedDNS

NAME = "models.example.com"


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.headers.get("Host", "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    cert_path, key_path = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def test_https_connects_to_the_checked_address_and_verifies_the_name(tls_server: tuple[int, Path]) -> None:
    port, cert_path = tls_server
    trust = ssl.create_default_context(cafile=str(cert_path))
    policy = OutboundPolicy([NAME], resolve=ScriptedDNS({NAME: [["127.0.0.1"]]}))
    async with checked_async_client(policy, verify=trust) as client:
        response = await client.get(f"https://{NAME}:{port}/")
    assert response.status_code == 200 and response.text == f"{NAME}:{port}"
    # The same server under a name its certificate does not carry: the certificate check still applies.
    other = OutboundPolicy(["other.example.com"], resolve=ScriptedDNS({"other.example.com": [["127.0.0.1"]]}))
    async with checked_async_client(other, verify=trust) as client:
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
            await client.get(f"https://other.example.com:{port}/")
