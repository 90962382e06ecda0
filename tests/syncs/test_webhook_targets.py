"""Webhook targets with production settings on: public addresses only, resolved once, connected to as checked."""

import socket

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError

from syncs.webhooks import services as webhooks

INSIDE = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
    "240.0.0.1", "::1", "::", "fe80::1", "fd00:ec2::254", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254",        # IPv4-mapped
    "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b::a01:203", "64:ff9b:1::a9fe:a9fe",  # NAT64
    "2002:a9fe:a9fe::1", "2002:7f00:1::",               # 6to4
    "::a9fe:a9fe",                                        # IPv4-compatible (deprecated)
]
OUTSIDE = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822",
           "2002:5db8:d822::1"]


@pytest.fixture
def production(settings):
    settings.PRODUCTION = True
    settings.DEBUG = False
    settings.CREDENTIALS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return settings


@pytest.mark.parametrize("address", INSIDE)
def test_an_inside_address_is_not_public_even_embedded_in_ipv6(address):
    assert webhooks.is_public_address(address) is False


@pytest.mark.parametrize("address", OUTSIDE)
def test_a_public_address_is_public_in_every_form(address):
    assert webhooks.is_public_address(address) is True


@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "::ffff:10.0.0.1", "2002:a9fe:a9fe::1"])
def test_production_refuses_an_embedded_inside_address_as_a_target_url(production, address):
    with pytest.raises(ValidationError):
        webhooks.target_url_clean(f"https://[{address}]/hook")


def fake_dns(monkeypatch, *answers: str) -> list[str]:
    """getaddrinfo answering each lookup with the next address (a rebinding DNS server); returns the lookups."""
    lookups, remaining = [], list(answers)

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        address = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)
    return lookups


def test_production_refuses_a_name_that_resolves_inside(production, monkeypatch):
    fake_dns(monkeypatch, "64:ff9b::a9fe:a9fe")
    connected = []
    monkeypatch.setattr(webhooks.socket, "create_connection", lambda *args, **kwargs: connected.append(args))

    status, error = webhooks._post("https://hooks.example.com/x", "secret", b"{}")

    assert (status, error) == (None, "The target resolves to a private address.")
    assert connected == []


def test_production_connects_to_the_address_it_checked_without_a_second_lookup(production, monkeypatch):
    lookups = fake_dns(monkeypatch, "93.184.216.34", "127.0.0.1")  # rebinds to loopback after the first answer
    connected = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("recorded")

    monkeypatch.setattr(webhooks.socket, "create_connection", create_connection)

    status, error = webhooks._post("https://hooks.example.com:8443/x", "secret", b"{}")

    assert lookups == ["hooks.example.com"]
    assert connected == [("93.184.216.34", 8443)]
    assert status is None and error.startswith("ConnectionRefusedError")


def test_the_pinned_connection_keeps_the_host_name_for_the_host_header(monkeypatch):
    """Outside production (plain http to a local receiver), the request names the host it was registered with."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers["Host"], self.path))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    fake_dns(monkeypatch, "127.0.0.1")
    try:
        assert webhooks._post(f"http://hooks.example.com:{port}/x?a=1", "secret", b"{}") == (204, "")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [(f"hooks.example.com:{port}", "/x?a=1")]
