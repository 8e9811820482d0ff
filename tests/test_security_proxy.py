"""Behind a reverse proxy: only a trusted proxy's X-Forwarded-For names the client, and then
login throttling (django-axes) and the audit trail both see the client's address, not the
proxy's. A client that writes X-Forwarded-For itself is not believed."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from garant.core.models import AuditEvent
from garant.core.security import forwarded_client, parse_networks
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"


def failed_login(remote_addr: str, forwarded_for: str | None = None, username="referent-a"):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return Client().post(
        reverse("login"), {"username": username, "password": "mauvais mot de passe"}, **extra
    )


def recorded_addresses():
    audit = [e.changes["ip"][1] for e in AuditEvent.objects.filter(subject="auth.login_failed")]
    throttled = list(AccessAttempt.objects.values_list("ip_address", flat=True))
    return audit, throttled


@pytest.fixture
def behind_proxy(settings):
    settings.GARANT_TRUSTED_PROXIES = ["10.0.0.0/24", "fd00::/8"]


def test_without_trusted_proxies_forwarded_for_is_ignored(world):
    failed_login("198.51.100.7", "203.0.113.9")
    assert recorded_addresses() == (["198.51.100.7"], ["198.51.100.7"])


def test_the_client_behind_a_trusted_proxy_is_recorded(world, behind_proxy):
    failed_login(PROXY, "203.0.113.9")
    assert recorded_addresses() == (["203.0.113.9"], ["203.0.113.9"])


def test_a_spoofed_forwarded_for_from_an_untrusted_client_is_ignored(world, behind_proxy):
    failed_login("198.51.100.7", "10.0.0.3, 203.0.113.9")
    assert recorded_addresses() == (["198.51.100.7"], ["198.51.100.7"])


def test_addresses_that_the_client_prepends_are_not_believed(world, behind_proxy):
    # the client sent "X-Forwarded-For: 1.1.1.1"; the proxies appended what they saw
    failed_login(PROXY, "1.1.1.1, 203.0.113.9, 10.0.0.1")
    assert recorded_addresses() == (["203.0.113.9"], ["203.0.113.9"])


def test_throttling_locks_one_client_not_every_user_of_the_proxy(world, behind_proxy):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        failed_login(PROXY, "203.0.113.9")
    form = {"username": "referent-a", "password": PASSWORD}
    locked = Client().post(
        reverse("login"), form, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert locked.status_code in (403, 429)
    other = Client().post(
        reverse("login"), form, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.10"
    )
    assert other.status_code == 302  # another workstation behind the same proxy signs in


def test_forwarded_proto_is_only_believed_from_a_trusted_proxy(world, behind_proxy, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    url = reverse("login")
    direct = Client().get(url, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in direct  # not HTTPS: the header was the client's
    proxied = Client().get(url, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_PROTO="https")
    assert proxied["Strict-Transport-Security"] == "max-age=3600"


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.0.0.2", "", "10.0.0.2"),  # nothing forwarded: the proxy itself
        ("10.0.0.2", "203.0.113.9:5123", "203.0.113.9"),  # with a port
        ("10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.0.0.2", "2001:db8::1", "2001:db8::1"),
        ("::ffff:10.0.0.2", "203.0.113.9", "203.0.113.9"),  # IPv4-mapped proxy address
        ("10.0.0.2", "n'importe quoi, 203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "203.0.113.9, n'importe quoi", "10.0.0.2"),  # unreadable: stop at the proxy
        ("10.0.0.2", "10.0.0.5, 10.0.0.4", "10.0.0.5"),  # all trusted: the farthest one
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
    ],
)
def test_forwarded_client(remote, forwarded, client):
    assert forwarded_client(remote, forwarded, parse_networks(["10.0.0.0/24"])) == client


def test_a_wrong_trusted_proxy_setting_stops_the_start():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        parse_networks(["10.0.0.0/33"])
