"""The password hashing of the product as configured (the other tests hash at argon2's lowest
cost: see `CheapArgon2PasswordHasher` in conftest)."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.module_loading import import_string

from garant import settings as product_settings
from tests.conftest import PASSWORD, make_user


def test_the_product_hashes_passwords_with_its_configured_argon2():
    configured = import_string(product_settings.PASSWORD_HASHERS[0])()
    assert configured.algorithm == "argon2"
    with override_settings(PASSWORD_HASHERS=product_settings.PASSWORD_HASHERS):
        assert type(get_hasher()) is type(configured)
        encoded = make_password(PASSWORD)
        params = configured.decode(encoded)
        assert (params["memory_cost"], params["time_cost"], params["parallelism"]) == (
            configured.memory_cost,
            configured.time_cost,
            configured.parallelism,
        )
        assert check_password(PASSWORD, encoded) and not check_password("autre", encoded)


def test_signing_in_with_the_configured_hasher(world):
    with override_settings(PASSWORD_HASHERS=product_settings.PASSWORD_HASHERS):
        user = make_user("argon-reel", world["a"]["est"], "referent")
        user.set_password(PASSWORD)
        user.save()
        client = Client()
        response = client.post(reverse("login"), {"username": "argon-reel", "password": PASSWORD})
        assert response.status_code == 302
        user.refresh_from_db()
        assert not get_hasher().must_update(user.password)  # stored with the real parameters
