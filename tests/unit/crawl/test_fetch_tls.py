"""https with a pinned address: the connection goes to the checked IP, TLS still checks the host name."""

from __future__ import annotations

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from takedown.crawl.errors import FetchFailed
from takedown.crawl.fetch import SafeFetcher

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.unit.crawl.conftest import FakeDns

x509 = pytest.importorskip("cryptography.x509")
hashes = pytest.importorskip("cryptography.hazmat.primitives.hashes")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
ec = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ec")
NameOID = x509.oid.NameOID


def _name(common_name: str) -> object:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_certificates(folder: Path, server_name: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for ``server_name`` signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("takedown test CA"))
        .issuer_name(_name("takedown test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(server_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


class _TlsSite:
    """An https server on 127.0.0.1 that records the SNI name and Host header of each request."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.sni_names: list[str | None] = []
        self.hosts: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hosts.append(self.headers.get("Host", ""))
                body = b"secure hello"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)

        def remember_sni(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
            site.sni_names.append(name)

        context.sni_callback = remember_sni  # type: ignore[assignment]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[tuple[_TlsSite, Path]]:
    ca_file, cert_file, key_file = _write_certificates(tmp_path, "pinned.test")
    server = _TlsSite(cert_file, key_file)
    yield server, ca_file
    server.close()


def test_https_connects_to_the_checked_ip_with_sni_and_certificate_for_the_name(
    tls_site: tuple[_TlsSite, Path], fake_dns: FakeDns
) -> None:
    # GIVEN pinned.test resolving to the loopback https server, whose certificate names pinned.test
    server, ca_file = tls_site
    lookups = fake_dns.install({"pinned.test": ["127.0.0.1", "10.0.0.9"]}, rebinding=True)
    fetcher = SafeFetcher(allow_private=True, ca_certs=str(ca_file))
    # WHEN https://pinned.test is fetched
    result = fetcher.fetch(f"https://pinned.test:{server.port}/")
    # THEN the TLS handshake named the host (SNI), the certificate was accepted for it,
    # the name was resolved once and the connection went to the checked address
    assert result.body == b"secure hello"
    assert server.sni_names == ["pinned.test"]
    assert server.hosts == [f"pinned.test:{server.port}"]
    assert lookups.count("pinned.test") == 1
    assert result.server_ip == "127.0.0.1"


def test_https_certificate_for_another_name_is_rejected(
    tls_site: tuple[_TlsSite, Path], fake_dns: FakeDns
) -> None:
    # GIVEN another name resolving to the same server, whose certificate only names pinned.test
    server, ca_file = tls_site
    fake_dns.install({"impostor.test": ["127.0.0.1"]})
    fetcher = SafeFetcher(allow_private=True, ca_certs=str(ca_file))
    # WHEN https://impostor.test is fetched
    with pytest.raises(FetchFailed) as raised:
        fetcher.fetch(f"https://impostor.test:{server.port}/")
    # THEN the certificate check against the host name fails the fetch
    assert raised.value.reason == "network:tls"
    assert server.hosts == []
