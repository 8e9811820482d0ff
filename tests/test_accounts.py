"""Accounts: hashing, sign-in, throttling, session expiry, and user administration by the
administrators of an establishment (only their users, only their roles, everything audited)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Membership, Role, User
from tests.conftest import PASSWORD, make_user

NEW_PASSWORD = "Un-nouveau-secret-2026"


def login(client: Client, username: str, password: str = PASSWORD):
    """Sign in through the login page, as a browser does (so django-axes sees the request)."""
    return client.post(reverse("login"), {"username": username, "password": password})


def temporary_password_of(response) -> str:
    match = re.search(r'id="temporary-password">([^<]+)<', response.content.decode())
    assert match, "the temporary password is shown once"
    return match.group(1)


@pytest.fixture
def admin_a(world):
    return world["users"]["a"]["admin"]


@pytest.fixture
def shared(world):
    """A user with a role in A and the administrator role in B."""
    with audit_context(source="test"):
        user = make_user("partage", world["a"]["est"], Role.CONTRIBUTOR)
        Membership.objects.create(user=user, establishment=world["b"]["est"], role=Role.ADMIN)
    return user


# --- authentication ------------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2(world):
    for user in User.objects.all():
        assert user.password.startswith("argon2"), user.username
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_login_and_logout(world):
    client = Client()
    response = login(client, "referent-a", "mauvais mot de passe")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    response = login(client, "referent-a")
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_repeated_failures_lock_the_account(world):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "referent-a", "mauvais mot de passe")
    response = login(client, "referent-a")  # even the right password is refused now
    assert response.status_code in (403, 429)
    assert "Trop de tentatives" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # another account from the same workstation is not affected
    assert login(Client(), "dpo-a").status_code == 302


def test_admin_can_unlock_a_locked_account(world, admin_a, client_for):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "referent-a", "mauvais mot de passe")
    target = world["users"]["a"]["referent"]
    admin = client_for(admin_a)
    page = admin.get(reverse("accounts:user_detail", args=[target.pk])).content.decode()
    assert "Débloquer la connexion" in page
    assert admin.post(reverse("accounts:user_unlock", args=[target.pk])).status_code == 302
    assert login(Client(), "referent-a").status_code == 302


def test_session_expires_after_inactivity(world):
    if "GARANT_SESSION_IDLE_MINUTES" not in os.environ:
        assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    client = Client()
    login(client, "referent-a")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    key = client.session.session_key

    # each request pushes the expiry back (idle timeout, not absolute)
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + dt.timedelta(seconds=60)
    )
    assert client.get(reverse("home")).status_code == 200
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry > timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)

    # after the idle period, the session is gone
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- reset and forced change ----------------------------------------------------------------


def test_admin_reset_forces_a_password_change(world, admin_a, client_for):
    target = world["users"]["a"]["referent"]
    admin = client_for(admin_a)
    url = reverse("accounts:user_password_reset", args=[target.pk])
    assert admin.get(url).status_code == 200
    response = admin.post(url)
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")
    temporary = temporary_password_of(response)
    target.refresh_from_db()
    assert target.must_change_password
    assert target.password.startswith("argon2")
    assert not target.check_password(PASSWORD)

    user = Client()
    assert login(user, "referent-a", PASSWORD).status_code == 200  # the old one is refused
    assert login(user, "referent-a", temporary).status_code == 302
    for url_name in ("home", "registry:system_list", "accounts:user_list"):
        response = user.get(reverse(url_name))
        assert response.status_code == 302 and response.url == reverse("password_change")
    assert user.get(reverse("password_change")).status_code == 200
    response = user.post(
        reverse("password_change"),
        {"old_password": temporary, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert not target.must_change_password
    assert user.get(reverse("home")).status_code == 200


def test_admin_cannot_reset_own_password_here(admin_a, client_for):
    url = reverse("accounts:user_password_reset", args=[admin_a.pk])
    assert client_for(admin_a).post(url).status_code == 403


# --- user administration ----------------------------------------------------------------------


def test_admin_creates_a_user_with_a_temporary_password(world, admin_a, client_for):
    est_a = world["a"]["est"]
    admin = client_for(admin_a)
    assert admin.get(reverse("accounts:user_create")).status_code == 200
    response = admin.post(
        reverse("accounts:user_create"),
        {
            "username": "marie.durand",
            "first_name": "Marie",
            "last_name": "Durand",
            "email": "Marie.Durand@chu-a.example.org",
            "roles": [f"{est_a.pk}:referent", f"{est_a.pk}:dpo"],
        },
    )
    assert response.status_code == 200
    temporary = temporary_password_of(response)
    user = User.objects.get(username="marie.durand")
    assert user.must_change_password and user.password.startswith("argon2")
    assert user.email == "marie.durand@chu-a.example.org"
    assert set(user.memberships.values_list("establishment_id", "role")) == {
        (est_a.pk, "referent"),
        (est_a.pk, "dpo"),
    }
    client = Client()
    assert login(client, "marie.durand", temporary).status_code == 302
    assert client.get(reverse("home")).url == reverse("password_change")
    # the list shows the new user with their roles
    page = admin.get(reverse("accounts:user_list")).content.decode()
    assert "marie.durand" in page and "DPO / juridique / qualité" in page


def test_create_refuses_duplicates_and_missing_roles(world, admin_a, client_for):
    admin = client_for(admin_a)
    response = admin.post(reverse("accounts:user_create"), {"username": "REFERENT-A"})
    assert response.status_code == 200
    assert "Cet identifiant est déjà utilisé." in response.content.decode()
    assert "roles" in response.context["form"].errors
    assert not User.objects.filter(username="REFERENT-A").exists()


def test_list_shows_roles_of_own_establishment_only(world, admin_a, shared, client_for):
    response = client_for(admin_a).get(reverse("accounts:user_list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "referent-a" in page and "partage" in page
    assert "referent-b" not in page and "CHU B" not in page


def test_list_filters(world, admin_a, client_for):
    admin = client_for(admin_a)
    response = admin.get(reverse("accounts:user_list"), {"role": "dpo"})
    usernames = {u.username for u in response.context["page"]}
    assert usernames == {"dpo-a"}
    response = admin.get(reverse("accounts:user_list"), {"q": "auditor"})
    assert {u.username for u in response.context["page"]} == {"auditor-a"}
    # nonsense values are ignored, never an error page
    response = admin.get(
        reverse("accounts:user_list"),
        {"establishment": "abc", "role": "pape", "state": "?", "page": "x"},
    )
    assert response.status_code == 200
    response = admin.get(reverse("accounts:user_list"), {"establishment": world["b"]["est"].pk})
    assert response.status_code == 200


def test_admin_edits_names_email_and_active_flag(world, admin_a, client_for):
    target = world["users"]["a"]["contributor"]
    admin = client_for(admin_a)
    url = reverse("accounts:user_edit", args=[target.pk])
    assert admin.get(url).status_code == 200
    response = admin.post(
        url,
        {"first_name": "Jeanne", "last_name": "Martin", "email": "jeanne@example.org"},
    )  # is_active unchecked: deactivated
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.first_name, target.last_name, target.email) == (
        "Jeanne",
        "Martin",
        "jeanne@example.org",
    )
    assert not target.is_active
    assert login(Client(), "contributor-a").status_code == 200  # refused


def test_admin_cannot_deactivate_themself(admin_a, client_for):
    url = reverse("accounts:user_edit", args=[admin_a.pk])
    response = client_for(admin_a).post(url, {"first_name": "Moi", "last_name": "Même"})
    assert response.status_code == 302
    admin_a.refresh_from_db()
    assert admin_a.is_active and admin_a.first_name == "Moi"


def test_admin_adds_and_removes_a_role(world, admin_a, client_for):
    target = world["users"]["a"]["contributor"]
    est_a = world["a"]["est"]
    admin = client_for(admin_a)
    url = reverse("accounts:user_detail", args=[target.pk])
    response = admin.post(url, {"establishment": est_a.pk, "role": Role.REFERENT})
    assert response.status_code == 302
    membership = Membership.objects.get(user=target, establishment=est_a, role=Role.REFERENT)
    # the same role twice is a form error
    response = admin.post(url, {"establishment": est_a.pk, "role": Role.REFERENT})
    assert response.status_code == 200 and response.context["form"].errors
    remove = reverse("accounts:membership_remove", args=[target.pk, membership.pk])
    assert admin.get(remove).status_code == 405
    assert admin.post(remove).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_admin_cannot_remove_own_admin_role(world, admin_a, client_for):
    membership = admin_a.memberships.get(role=Role.ADMIN)
    url = reverse("accounts:membership_remove", args=[admin_a.pk, membership.pk])
    assert client_for(admin_a).post(url).status_code == 302
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_removing_the_last_role_takes_the_user_out_of_the_list(world, admin_a, client_for):
    target = world["users"]["a"]["auditor"]
    membership = target.memberships.get()
    admin = client_for(admin_a)
    response = admin.post(reverse("accounts:membership_remove", args=[target.pk, membership.pk]))
    assert response.url == reverse("accounts:user_list")
    assert admin.get(reverse("accounts:user_detail", args=[target.pk])).status_code == 404


# --- tenancy -----------------------------------------------------------------------------------


def test_admin_of_a_cannot_give_roles_in_b(world, admin_a, client_for):
    est_b = world["b"]["est"]
    target = world["users"]["a"]["contributor"]
    admin = client_for(admin_a)
    response = admin.post(
        reverse("accounts:user_detail", args=[target.pk]),
        {"establishment": est_b.pk, "role": Role.ADMIN},
    )
    assert response.status_code == 200
    assert "establishment" in response.context["form"].errors
    response = admin.post(
        reverse("accounts:user_create"),
        {"username": "intrus", "roles": [f"{est_b.pk}:admin"]},
    )
    assert response.status_code == 200
    assert "roles" in response.context["form"].errors
    assert not User.objects.filter(username="intrus").exists()
    assert not Membership.objects.filter(establishment=est_b, user=target).exists()


def test_shared_account_roles_only_not_the_account(world, admin_a, shared, client_for):
    """A's admin manages the A roles of someone who is also admin in B, not their account."""
    admin = client_for(admin_a)
    detail = admin.get(reverse("accounts:user_detail", args=[shared.pk]))
    assert detail.status_code == 200
    assert [m.establishment_id for m in detail.context["memberships"]] == [world["a"]["est"].pk]
    assert admin.get(reverse("accounts:user_edit", args=[shared.pk])).status_code == 403
    assert admin.post(reverse("accounts:user_password_reset", args=[shared.pk])).status_code == 403
    b_role = shared.memberships.get(establishment=world["b"]["est"])
    remove = reverse("accounts:membership_remove", args=[shared.pk, b_role.pk])
    assert admin.post(remove).status_code == 404
    response = admin.post(
        reverse("accounts:user_detail", args=[shared.pk]),
        {"establishment": world["a"]["est"].pk, "role": Role.REFERENT},
    )
    assert response.status_code == 302


def test_only_superusers_change_superusers(world, admin_a, client_for):
    with audit_context(source="test"):
        root = User.objects.create_superuser("racine", password=PASSWORD)
        Membership.objects.create(user=root, establishment=world["a"]["est"], role=Role.AUDITOR)
    admin = client_for(admin_a)
    assert admin.post(reverse("accounts:user_password_reset", args=[root.pk])).status_code == 403
    assert admin.get(reverse("accounts:user_edit", args=[root.pk])).status_code == 403
    superuser = client_for(root)
    target = world["users"]["b"]["referent"]
    assert superuser.get(reverse("accounts:user_detail", args=[target.pk])).status_code == 200
    assert (
        superuser.post(reverse("accounts:user_password_reset", args=[target.pk])).status_code == 200
    )


@pytest.mark.parametrize(
    "role", [Role.COMMITTEE, Role.REFERENT, Role.DPO, Role.CONTRIBUTOR, Role.AUDITOR]
)
def test_non_admins_get_403(world, client_for, role):
    client = client_for(world["users"]["a"][role])
    target = world["users"]["a"]["contributor"]
    membership = target.memberships.get()
    gets = [
        reverse("accounts:user_list"),
        reverse("accounts:user_create"),
        reverse("accounts:user_detail", args=[target.pk]),
        reverse("accounts:user_edit", args=[target.pk]),
        reverse("accounts:user_password_reset", args=[target.pk]),
    ]
    for url in gets:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"username": "x"}).status_code == 403, url
    for url in (
        reverse("accounts:user_unlock", args=[target.pk]),
        reverse("accounts:membership_remove", args=[target.pk, membership.pk]),
    ):
        assert client.post(url).status_code == 403, url
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_no_error_page_for_odd_input(world, admin_a, client_for):
    admin = client_for(admin_a)
    target = world["users"]["a"]["contributor"]
    assert admin.get(reverse("accounts:user_detail", args=[999999])).status_code == 404
    for data in ({}, {"establishment": "abc", "role": "x"}, {"establishment": "-1"}):
        url = reverse("accounts:user_detail", args=[target.pk])
        assert admin.post(url, data).status_code == 200
    bad_create = {"username": "a b/c", "email": "pas-un-email", "roles": ["x", "1:y", "abc:admin"]}
    response = admin.post(reverse("accounts:user_create"), bad_create)
    assert response.status_code == 200 and response.context["form"].errors
    response = admin.post(reverse("accounts:user_edit", args=[target.pk]), {"email": "@@"})
    assert response.status_code == 200


# --- audit trail -----------------------------------------------------------------------------


def test_every_change_is_audited_without_password_hashes(world, admin_a, client_for):
    est_a = world["a"]["est"]
    admin = client_for(admin_a)
    start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    response = admin.post(
        reverse("accounts:user_create"),
        {"username": "paul.audit", "first_name": "Paul", "roles": [f"{est_a.pk}:contributor"]},
    )
    first_password = temporary_password_of(response)
    user = User.objects.get(username="paul.audit")
    admin.post(
        reverse("accounts:user_edit", args=[user.pk]),
        {"first_name": "Paul", "last_name": "Audit", "email": "", "is_active": "on"},
    )
    admin.post(
        reverse("accounts:user_detail", args=[user.pk]),
        {"establishment": est_a.pk, "role": Role.AUDITOR},
    )
    membership = user.memberships.get(role=Role.AUDITOR)
    admin.post(reverse("accounts:membership_remove", args=[user.pk, membership.pk]))
    second_password = temporary_password_of(
        admin.post(reverse("accounts:user_password_reset", args=[user.pk]))
    )
    user.refresh_from_db()

    events = AuditEvent.objects.filter(id__gt=start, subject=f"core.user:{user.pk}")
    kinds = {(e.object_type, e.action) for e in events}
    assert {
        ("core.user", "create"),
        ("core.user", "update"),
        ("core.user", "event"),
        ("core.membership", "create"),
        ("core.membership", "delete"),
    } <= kinds
    assert all(e.actor_name == admin_a.username and e.source == "ui" for e in events)
    names = events.filter(object_type="core.user", action="update").first().changes
    assert names["last_name"] == ["", "Audit"]
    reset = events.get(object_type="core.user", action="event")
    assert reset.changes == {"password_reset": [None, True]}

    everything = json.dumps([e.changes for e in AuditEvent.objects.all()])
    assert "argon2" not in everything and "pbkdf2" not in everything
    for secret in (user.password, first_password, second_password):
        assert secret not in everything
    # the account's history shows it to the administrator
    page = admin.get(reverse("accounts:user_detail", args=[user.pk])).content.decode()
    assert "réinitialisation du mot de passe" in page
