from django.test import RequestFactory

from textpeak.lib.client_ip import client_ip


def _request(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_it_uses_the_connection_address_without_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("198.51.100.4", "203.0.113.9")) == "198.51.100.4"


def test_it_ignores_forwarded_for_from_an_untrusted_peer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("198.51.100.4", "203.0.113.9")) == "198.51.100.4"


def test_it_believes_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("10.1.2.3", "203.0.113.9")) == "203.0.113.9"


def test_it_reads_from_the_right_so_a_client_cannot_prepend_an_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("10.1.2.3", "127.0.0.1, 203.0.113.9")) == "203.0.113.9"


def test_it_skips_every_trusted_hop(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("10.1.2.3", "203.0.113.9, 10.9.9.9")) == "203.0.113.9"


def test_it_falls_back_to_the_proxy_on_garbage(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("10.1.2.3", "not-an-ip")) == "10.1.2.3"


def test_it_reads_an_ipv4_mapped_peer_as_the_ipv4_address(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request("::ffff:198.51.100.4")) == "198.51.100.4"


def test_it_believes_a_trusted_proxy_seen_as_an_ipv4_mapped_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(_request("::ffff:10.1.2.3", "::ffff:203.0.113.9")) == "203.0.113.9"
