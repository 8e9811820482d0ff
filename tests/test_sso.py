"""Single sign-on (OpenID Connect): claim mapping, just-in-time accounts and roles, refusals,
local passwords restricted, and end to end against a real provider (tests/oidc_provider,
django-oidc-provider) started on localhost, including a sign-in in Chromium."""

from __future__ import annotations

import html
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import yaml
from django.test import Client

from garant.core.models import AuditEvent, Membership, User
from garant.sso import config
from garant.sso.backends import SsoBackend, SsoError, SsoRefused
from garant.sso.config import Grant, SsoConfigError
from garant.sso.models import Identity
from tests.conftest import PASSWORD, make_user

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CLIENT_ID, CLIENT_SECRET = "garant", "secret-du-client-de-test"
OP_PASSWORD = "mot-de-passe-chez-le-fournisseur"
ENTRA_GROUP = "0f3c6f1e-7a52-4d3b-9c1d-2b8e6a4d9f10"

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop, sync ORM


def provider_data(**extra) -> dict:
    """A group-wide provider: Keycloak paths, an Entra ID object id and a plain name mapped."""
    data = {
        "key": "op",
        "name": "Fournisseur de test",
        "issuer": "http://127.0.0.1:9/openid",
        "client_id": CLIENT_ID,
        "client_secret_env": "GARANT_TEST_OIDC_SECRET",
        "scopes": ["openid", "profile", "email", "groups"],
        "mappings": [
            {"group": "/chu-a/referents", "establishment": "chu-a", "role": "referent"},
            {"group": "/chu-b/auditeurs", "establishment": "chu-b", "role": "auditor"},
            {"group": ENTRA_GROUP, "establishment": "chu-a", "role": "committee"},
            {"group": "DPO", "establishment": "chu-a", "role": "dpo"},
            {"group": "DPO", "establishment": "chu-b", "role": "dpo"},
        ],
    }
    data.update(extra)
    return data


def write_config(path: Path, *providers: dict) -> Path:
    path.write_text(yaml.safe_dump({"providers": list(providers)}), encoding="utf-8")
    return path


def parsed(**extra) -> config.Provider:
    return config.parse({"providers": [provider_data(**extra)]}, Path("sso.yaml")).providers["op"]


# --- (a) the mapping file and the claim mapping ----------------------------------------------


def test_keycloak_paths_entra_ids_and_names_map_to_roles_unknown_groups_ignored():
    p = parsed()
    claims = {"sub": "1", "groups": ["/chu-a/referents", ENTRA_GROUP, "/autre/groupe", 42]}
    assert p.grants(claims) == {Grant("chu-a", "referent"), Grant("chu-a", "committee")}
    assert p.grants({"sub": "1", "groups": ["DPO"]}) == {
        Grant("chu-a", "dpo"),
        Grant("chu-b", "dpo"),
    }
    assert p.grants({"sub": "1", "groups": ["/chu-a"]}) == set()  # paths match whole
    assert p.grants({"sub": "1"}) == set()
    assert p.grants({"sub": "1", "groups": None}) == set()


def test_a_single_group_as_a_string_and_nested_claims_are_read():
    assert parsed().grants({"sub": "1", "groups": "/chu-b/auditeurs"}) == {
        Grant("chu-b", "auditor")
    }
    p = parsed(groups_claim="realm_access.roles")
    claims = {"sub": "1", "realm_access": {"roles": ["DPO", "offline_access"]}}
    assert p.groups(claims) == ["DPO", "offline_access"]
    assert Grant("chu-b", "dpo") in p.grants(claims)


def test_entra_group_overage_is_detected():
    p = parsed()
    claims = {"sub": "1", "_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {}}}
    assert p.groups_overflow(claims)
    assert not p.groups_overflow({"sub": "1", "groups": []})


def test_default_roles_are_given_to_every_person_the_provider_signs_in():
    p = parsed(mappings=[], default_roles=[{"establishment": "chu-a", "role": "contributor"}])
    assert p.grants({"sub": "1"}) == {Grant("chu-a", "contributor")}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"role": "superadmin"}, "unknown role 'superadmin'"),
        ({"establishments": ["chu-b"]}, "outside this provider's establishments"),
        ({"client_secret_env": "lower-case"}, "client_secret_env"),
        ({"scopes": ["profile"]}, "scopes"),
        ({"issuer": "ftp://x"}, "issuer"),
        ({"secret": "dans le fichier"}, "Additional properties"),
        ({"roles_from": "garant"}, "roles_from 'garant'"),
    ],
)
def test_a_broken_mapping_file_is_refused_with_where_and_why(change, message):
    data = provider_data()
    if "role" in change:
        data["mappings"][0]["role"] = change["role"]
    else:
        data.update(change)
    with pytest.raises(SsoConfigError, match="sso.yaml") as exc:
        config.parse({"providers": [data]}, Path("sso.yaml"))
    assert message in str(exc.value)


def test_duplicate_provider_keys_and_missing_files_are_refused(tmp_path):
    with pytest.raises(SsoConfigError, match="duplicate provider key 'op'"):
        config.parse({"providers": [provider_data(), provider_data()]}, Path("sso.yaml"))
    with pytest.raises(SsoConfigError, match="GARANT_SSO_CONFIG"):
        config.load(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("providers: [", encoding="utf-8")
    with pytest.raises(SsoConfigError, match="bad.yaml"):
        config.load(bad)


def test_the_documented_example_file_is_valid():
    data = yaml.safe_load((ROOT / "docs/examples/sso.yaml").read_text(encoding="utf-8"))
    cfg = config.parse(data, Path("docs/examples/sso.yaml"))
    assert set(cfg.providers) == {"keycloak", "entra-sainte-aure", "adfs-montclair", "psc"}


def test_the_providers_file_shown_in_accounts_md_is_valid():
    text = (ROOT / "docs/accounts.md").read_text(encoding="utf-8")
    block = text.split("### The providers file")[1].split("```yaml\n")[1].split("```")[0]
    provider = config.parse(yaml.safe_load(block), Path("accounts.md")).providers["keycloak"]
    assert provider.grants({"groups": ["/valmont/referents-ia"]}) == {Grant("valmont", "referent")}


# --- just-in-time accounts and roles, without a provider ------------------------------------


def backend_for(provider) -> SsoBackend:
    backend = SsoBackend()
    backend.provider = provider
    return backend


def claims_of(sub="sub-1", **extra) -> dict:
    return {
        "sub": sub,
        "preferred_username": "marie.curie",
        "given_name": "Marie",
        "family_name": "Curie",
        "email": "marie.curie@chu-a.example",
        **extra,
    }


def roles(user) -> set[tuple[str, str]]:
    return set(Membership.objects.filter(user=user).values_list("establishment__code", "role"))


def test_first_sign_in_creates_the_account_with_its_roles_audited_as_sso(est_a, est_b):
    backend = backend_for(parsed())
    user = backend.create_user(claims_of(groups=["/chu-a/referents", "/chu-b/auditeurs", "x"]))
    assert (user.username, user.first_name, user.email) == (
        "marie.curie",
        "Marie",
        "marie.curie@chu-a.example",
    )
    assert not user.has_usable_password()
    assert roles(user) == {("chu-a", "referent"), ("chu-b", "auditor")}
    assert Identity.objects.get(user=user).subject == "sub-1"
    events = AuditEvent.objects.filter(source="sso")
    created = events.get(object_type="core.user", action="create")
    assert (created.actor_id, created.actor_name) == (user.pk, "marie.curie")
    assert events.filter(object_type="core.membership", action="create").count() == 2
    login = events.get(object_type="sso.login")
    assert login.changes["groups"][1] == ["/chu-a/referents", "/chu-b/auditeurs", "x"]
    assert login.changes["account"] == [None, "created"]


def test_roles_follow_the_provider_and_no_role_left_deactivates(est_a, est_b):
    backend = backend_for(parsed())
    user = backend.create_user(claims_of(groups=["/chu-a/referents"]))
    user = backend.update_user(user, claims_of(groups=[ENTRA_GROUP], family_name="Sklodowska"))
    assert roles(user) == {("chu-a", "committee")}
    assert User.objects.get(pk=user.pk).last_name == "Sklodowska"
    removed = AuditEvent.objects.get(object_type="core.membership", action="delete")
    assert (removed.source, removed.actor_name) == ("sso", "marie.curie")

    with pytest.raises(SsoRefused, match="aucun rôle") as exc:
        backend.update_user(user, claims_of(groups=["/groupe/inconnu"]))
    assert exc.value.reason == "no_role"
    user.refresh_from_db()
    assert roles(user) == set()
    assert not user.is_active
    assert Identity.objects.get(user=user).deactivated_by_sso
    refused = AuditEvent.objects.get(object_type="sso.refused")
    assert refused.changes["reason"] == [None, "no_role"]

    user = backend.update_user(user, claims_of(groups=["DPO"]))  # the group given back
    assert user.is_active
    assert roles(user) == {("chu-a", "dpo"), ("chu-b", "dpo")}


def test_no_mapped_group_at_first_sign_in_creates_no_account(est_a):
    with pytest.raises(SsoRefused, match="aucun de vos groupes"):
        backend_for(parsed()).create_user(claims_of(groups=["/autre"]))
    assert not User.objects.exists()
    assert AuditEvent.objects.filter(object_type="sso.refused").count() == 1


def test_entra_overage_refuses_rather_than_removing_roles(est_a):
    backend = backend_for(parsed())
    user = backend.create_user(claims_of(groups=[ENTRA_GROUP]))
    with pytest.raises(SsoRefused, match="trop de groupes"):
        backend.update_user(user, claims_of(_claim_names={"groups": "src1"}))
    assert roles(user) == {("chu-a", "committee")}


def test_a_per_establishment_provider_leaves_other_establishments_roles_alone(est_a, est_b):
    backend = backend_for(
        parsed(
            establishments=["chu-a"],
            mappings=[{"group": "ref", "establishment": "chu-a", "role": "referent"}],
        )
    )
    user = backend.create_user(claims_of(groups=["ref"]))
    Membership.objects.create(user=user, establishment=est_b, role="auditor")  # given in B
    with pytest.raises(SsoRefused):
        backend.update_user(user, claims_of(groups=[]))
    user.refresh_from_db()
    assert roles(user) == {("chu-b", "auditor")}
    assert user.is_active  # still has a role elsewhere: only this provider's access is gone


def test_an_account_deactivated_by_an_administrator_stays_so(est_a):
    backend = backend_for(parsed())
    user = backend.create_user(claims_of(groups=["/chu-a/referents"]))
    with pytest.raises(SsoRefused):  # deactivated by SSO, then reactivated by hand...
        backend.update_user(user, claims_of(groups=[]))
    User.objects.filter(pk=user.pk).update(is_active=True)
    user = backend.update_user(User.objects.get(pk=user.pk), claims_of(groups=["DPO"]))
    assert not Identity.objects.get(user=user).deactivated_by_sso  # ...SSO forgets its flag
    user.is_active = False
    user.save()
    with pytest.raises(SsoRefused, match="désactivé par un administrateur"):
        backend.update_user(user, claims_of(groups=["/chu-a/referents"]))
    assert not User.objects.get(pk=user.pk).is_active


def test_an_existing_local_account_is_never_taken_over(est_a):
    local = make_user("marie.curie", est_a, "admin")
    user = backend_for(parsed()).create_user(claims_of(groups=["/chu-a/referents"]))
    assert user.pk != local.pk
    assert user.username == "marie.curie.op"
    assert roles(local) == {("chu-a", "admin")}


def test_roles_from_garant_accounts_wait_for_an_administrator(est_a):
    backend = backend_for(parsed(mappings=[], roles_from="garant"))
    with pytest.raises(SsoRefused, match="n'a encore aucun rôle"):
        backend.create_user(claims_of(sub="rpps-810000000001"))
    user = User.objects.get(sso_identities__subject="rpps-810000000001")
    assert user.is_active  # waiting for a role, not deactivated
    Membership.objects.create(user=user, establishment=est_a, role="contributor")
    assert backend.update_user(user, claims_of(sub="rpps-810000000001", groups=[])) == user
    assert roles(user) == {("chu-a", "contributor")}  # left as the administrator set them


def test_the_id_token_must_come_from_the_issuer_for_this_client():
    backend = backend_for(parsed())
    backend.issuer, backend.OIDC_RP_CLIENT_ID = "http://op/openid", CLIENT_ID
    backend.check_issuer_and_audience({"iss": "http://op/openid", "aud": [CLIENT_ID], "sub": "1"})
    for bad in (
        {"iss": "http://autre/openid", "aud": CLIENT_ID, "sub": "1"},
        {"iss": "http://op/openid", "aud": "un-autre-client", "sub": "1"},
        {"iss": "http://op/openid", "aud": CLIENT_ID, "sub": ""},
    ):
        with pytest.raises(SsoError):
            backend.check_issuer_and_audience(bad)


# --- (c) local passwords -------------------------------------------------------------------


def post_login(username: str) -> tuple[Client, object]:
    client = Client()
    response = client.post("/connexion/", {"username": username, "password": PASSWORD})
    return client, response


def test_an_account_page_says_it_is_sso_managed_and_offers_no_password_reset(
    settings, tmp_path, est_a, client_for
):
    settings.GARANT_SSO_CONFIG = str(write_config(tmp_path / "sso.yaml", provider_data()))
    user = backend_for(parsed()).create_user(claims_of(groups=["/chu-a/referents"]))
    admin = make_user("admin-a", est_a, "admin")
    page = page_text(client_for(admin).get(f"/utilisateurs/{user.pk}/"))
    assert "Fournisseur de test — sans mot de passe local" in page
    assert "Réinitialiser le mot de passe" not in page
    local = make_user("local", est_a, "contributor")
    assert "Réinitialiser le mot de passe" in page_text(
        client_for(admin).get(f"/utilisateurs/{local.pk}/")
    )


def test_sso_managed_accounts_never_sign_in_with_a_password(est_a):
    user = backend_for(parsed()).create_user(claims_of(groups=["/chu-a/referents"]))
    user.set_password(PASSWORD)  # e.g. reset by an administrator
    user.save()
    _client, response = post_login("marie.curie")
    assert response.status_code == 200
    assert "_auth_user_id" not in _client.session
    assert AuditEvent.objects.filter(object_type="auth.login_failed").exists()


def test_breakglass_mode_keeps_passwords_for_listed_accounts_and_superusers(
    settings, est_a, tmp_path
):
    settings.GARANT_SSO_CONFIG = str(write_config(tmp_path / "sso.yaml", provider_data()))
    settings.GARANT_BREAKGLASS_USERS = ["secours"]
    assert config.local_login_mode() == "breakglass"  # the default once SSO is on
    make_user("agent", est_a, "referent")
    make_user("secours", est_a, "admin")
    make_user("installateur", is_superuser=True)

    client, response = post_login("agent")
    assert "_auth_user_id" not in client.session
    assert "réservé aux comptes de secours" in page_text(response)
    for name in ("secours", "installateur"):
        client, response = post_login(name)
        assert response.status_code == 302, name
        assert client.session["_auth_user_id"]

    settings.GARANT_LOCAL_LOGIN = "all"
    client, response = post_login("agent")
    assert response.status_code == 302


def test_the_login_page_offers_the_providers_and_hides_the_form_for_breakglass(
    settings, tmp_path, db
):
    page = page_text(Client().get("/connexion/"))
    assert "Se connecter avec" not in page and "<details" not in page  # SSO off by default
    settings.GARANT_SSO_CONFIG = str(write_config(tmp_path / "sso.yaml", provider_data()))
    page = page_text(Client().get("/connexion/?next=/systemes/"))
    assert "Se connecter avec Fournisseur de test" in page
    assert 'href="/sso/op/connexion/?next=/systemes/"' in page
    assert "Compte de secours (administrateurs)" in page


def test_an_unknown_local_login_mode_is_a_configuration_error(settings):
    settings.GARANT_LOCAL_LOGIN = "parfois"
    with pytest.raises(SsoConfigError, match="GARANT_LOCAL_LOGIN"):
        config.local_login_mode()


# --- the real provider -----------------------------------------------------------------------


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Provider:
    url: str
    env: dict

    @property
    def issuer(self) -> str:
        return f"{self.url}/openid"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "django", "opctl", *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )

    def client(self, redirect_uri: str = "http://testserver/sso/retour/") -> None:
        """Register Garant as the provider's client (the test client's host by default)."""
        self.ctl(
            "client", "--id", CLIENT_ID, "--secret", CLIENT_SECRET, "--redirect-uri", redirect_uri
        )

    def user(self, username: str, *groups: str, **names: str) -> None:
        args = ["user", username, "--password", OP_PASSWORD, "--groups", ",".join(groups)]
        for key, value in names.items():
            args += [f"--{key.replace('_', '-')}", value]
        self.ctl(*args)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """django-oidc-provider on a free port of 127.0.0.1, with its own SQLite file and RS256
    key (Garant's live server runs on localhost: not the same cookie jar)."""
    folder = tmp_path_factory.mktemp("oidc_provider")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "TEST_OP_DATABASE": str(folder / "op.sqlite3"),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v0"], env=env, cwd=ROOT, check=True
    )
    port = free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    op = Provider(url=f"http://127.0.0.1:{port}", env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{op.issuer}/.well-known/openid-configuration", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(
                "the test OpenID provider did not start:\n" + (folder / "server.log").read_text()
            )
        time.sleep(0.2)
    try:
        yield op
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture
def sso_on(settings, tmp_path, monkeypatch, oidc_provider):
    monkeypatch.setenv("GARANT_TEST_OIDC_SECRET", CLIENT_SECRET)
    path = write_config(tmp_path / "sso.yaml", provider_data(issuer=oidc_provider.issuer))
    settings.GARANT_SSO_CONFIG = str(path)
    return oidc_provider


def test_a_forged_or_replayed_callback_ends_on_a_french_page(sso_on, est_a):
    sso_on.client()
    client = Client(raise_request_exception=False)
    response = client.get("/sso/retour/", {"state": "inventé", "code": "x"})
    assert response.status_code == 400
    assert "inconnue, expirée ou déjà utilisée" in page_text(response)

    start = client.get("/sso/op/connexion/")
    assert start.status_code == 302 and start["Location"].startswith(sso_on.issuer)
    query = parse_qs(urlparse(start["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"]
    state = query["state"][0]
    response = client.get("/sso/retour/", {"state": state, "code": "code-forge"})
    assert response.status_code == 400
    assert "n'a pas pu être vérifiée" in page_text(response)
    failed = AuditEvent.objects.get(object_type="sso.failed")
    assert failed.source == "sso" and "token endpoint" in failed.changes["reason"][1]
    replay = client.get("/sso/retour/", {"state": state, "code": "code-forge"})
    assert replay.status_code == 400  # the state was used up

    state = parse_qs(urlparse(client.get("/sso/op/connexion/")["Location"]).query)["state"][0]
    response = client.get("/sso/retour/", {"state": state, "error": "access_denied"})
    assert response.status_code == 403
    assert "n'a pas autorisé la connexion (access_denied)" in page_text(response)
    assert client.get("/sso/inconnu/connexion/").status_code == 404

    for asked, kept in (("https://evil.example/", None), ("/systemes/?q=1", "/systemes/?q=1")):
        location = client.get("/sso/op/connexion/", {"next": asked})["Location"]
        state = parse_qs(urlparse(location).query)["state"][0]
        assert client.session["oidc_states"][state]["next"] == kept  # no open redirect
    assert not User.objects.filter(sso_identities__isnull=False).exists()


def sign_in_without_browser(client: Client, op: Provider, username: str):
    """The code flow driven by hand: Garant's test client, the provider over HTTP."""
    location = client.get("/sso/op/connexion/")["Location"]
    browser = requests.Session()
    response = browser.get(location, allow_redirects=True)  # to the provider's sign-in page
    if "csrfmiddlewaretoken" in response.text:
        token = response.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        next_url = html.unescape(response.text.split('name="next" value="')[1].split('"')[0])
        response = browser.post(
            response.url,
            {
                "csrfmiddlewaretoken": token,
                "username": username,
                "password": OP_PASSWORD,
                "next": next_url,
            },
            headers={"Referer": response.url},
            allow_redirects=False,
        )
        response = browser.get(op.url + response.headers["Location"], allow_redirects=False)
    back = urlparse(response.headers["Location"])
    assert back.netloc == "testserver", response.headers["Location"]
    return client.get(back.path, parse_qs(back.query))


@pytest.mark.parametrize("token_auth", ["client_secret_post", "client_secret_basic"])
def test_the_code_flow_signs_in_with_either_client_authentication(
    token_auth, settings, tmp_path, monkeypatch, oidc_provider, est_a
):
    monkeypatch.setenv("GARANT_TEST_OIDC_SECRET", CLIENT_SECRET)
    data = provider_data(issuer=oidc_provider.issuer, token_auth=token_auth)
    settings.GARANT_SSO_CONFIG = str(write_config(tmp_path / "sso.yaml", data))
    oidc_provider.client()
    oidc_provider.user("bob", ENTRA_GROUP, first_name="Bob", last_name="Durand")
    client = Client()
    response = sign_in_without_browser(client, oidc_provider, "bob")
    assert response.status_code == 302 and response["Location"] == "/"
    bob = User.objects.get(username="bob")
    assert int(client.session["_auth_user_id"]) == bob.pk
    assert roles(bob) == {("chu-a", "committee")}
    assert "Membre du comité (CHU A)" in page_text(client.get("/"))


def test_an_unreachable_provider_is_said_so(settings, tmp_path, monkeypatch, db):
    monkeypatch.setenv("GARANT_TEST_OIDC_SECRET", CLIENT_SECRET)
    issuer = f"http://127.0.0.1:{free_port()}/openid"  # nothing listens there
    settings.GARANT_SSO_CONFIG = str(
        write_config(tmp_path / "s.yaml", provider_data(issuer=issuer))
    )
    response = Client().get("/sso/op/connexion/")
    assert response.status_code == 502
    assert "ne répond pas" in page_text(response)


# --- (b) end to end in Chromium --------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing in CI: the browser tests cannot run")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


def sign_in_with_provider(page, live_server, first_time: bool) -> None:
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_role("link", name="Se connecter avec Fournisseur de test").click()
    if first_time:  # the provider's own sign-in page, then straight back (no consent asked)
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(OP_PASSWORD)
        page.get_by_role("button", name="Sign in at the provider").click()


@pytest.mark.browser
def test_chromium_sign_in_lands_in_the_right_establishment_and_loses_access_with_the_group(
    chromium, live_server, sso_on, est_a, est_b
):
    sso_on.client(f"{live_server.url}/sso/retour/")
    sso_on.user(
        "alice",
        "/chu-a/referents",
        "groupe-sans-role",
        first_name="Alice",
        last_name="Martin",
        email="alice.martin@chu-a.example",
    )
    context = chromium.new_context(locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    docs_img = Path(__file__).resolve().parent.parent / "docs" / "img"
    try:
        if os.environ.get("GARANT_SCREENSHOTS"):  # the sign-in page of docs/accounts.md
            page.set_viewport_size({"width": 1280, "height": 720})
            page.goto(f"{live_server.url}/connexion/")
            page.screenshot(path=str(docs_img / "login-sso.png"))
        sign_in_with_provider(page, live_server, first_time=True)
        page.wait_for_url(f"{live_server.url}/")
        assert page.get_by_role("heading", name="Bonjour Alice").is_visible()
        assert page.get_by_text("Référent IA / chef de projet (CHU A)").is_visible()
        alice = User.objects.get(username="alice")
        assert (alice.last_name, alice.email) == ("Martin", "alice.martin@chu-a.example")
        assert roles(alice) == {("chu-a", "referent")}
        assert Identity.objects.get(user=alice).provider == "op"
        trail = AuditEvent.objects.filter(source="sso", actor_id=alice.pk)
        assert trail.filter(object_type="core.user", action="create").exists()
        assert trail.filter(object_type="core.membership", action="create").count() == 1

        # the provider removes her group; her next sign-in (still signed in at the provider)
        # is refused, her role is gone and her account deactivated
        sso_on.user("alice", "groupe-sans-role", first_name="Alice", last_name="Martin")
        page.get_by_role("button", name="Se déconnecter").click()
        page.wait_for_url("**/connexion/")
        sign_in_with_provider(page, live_server, first_time=False)
        page.get_by_role("heading", name="Connexion impossible").wait_for()
        if os.environ.get("GARANT_SCREENSHOTS"):
            page.screenshot(path=str(docs_img / "sso-refused.png"))
        assert "ne vous donne aucun rôle" in page.get_by_role("alert").inner_text()
        alice.refresh_from_db()
        assert not alice.is_active and roles(alice) == set()
        removed = AuditEvent.objects.get(object_type="core.membership", action="delete")
        assert (removed.source, removed.actor_name) == ("sso", "alice")
        page.goto(f"{live_server.url}/")
        page.wait_for_url("**/connexion/?next=/")  # not signed in

        # another group at the provider: the next sign-in reactivates her, auditor in B
        sso_on.user("alice", "/chu-b/auditeurs", first_name="Alice", last_name="Martin")
        sign_in_with_provider(page, live_server, first_time=False)
        page.wait_for_url(f"{live_server.url}/")
        assert page.get_by_text("Auditeur (lecture seule) (CHU B)").is_visible()
        alice.refresh_from_db()
        assert alice.is_active and roles(alice) == {("chu-b", "auditor")}
        assert AuditEvent.objects.filter(object_type="sso.login", actor_id=alice.pk).count() == 2
    finally:
        context.close()


def test_sso_check_reports_unknown_establishments_and_missing_secrets(
    settings, tmp_path, monkeypatch, est_a, est_b
):
    from django.core.management import CommandError, call_command

    out = tmp_path / "out.txt"
    settings.GARANT_SSO_CONFIG = str(write_config(tmp_path / "sso.yaml", provider_data()))
    monkeypatch.delenv("GARANT_TEST_OIDC_SECRET", raising=False)
    with out.open("w") as stream, pytest.raises(CommandError, match="1 problème"):
        call_command("sso", "check", stdout=stream)
    assert "la variable GARANT_TEST_OIDC_SECRET est vide" in out.read_text()
    monkeypatch.setenv("GARANT_TEST_OIDC_SECRET", "x")
    data = provider_data()
    data["mappings"].append({"group": "g", "establishment": "chu-z", "role": "auditor"})
    settings.GARANT_SSO_CONFIG = str(write_config(tmp_path / "sso2.yaml", data))
    with out.open("w") as stream, pytest.raises(CommandError):
        call_command("sso", "check", stdout=stream)
    assert "établissements inconnus : chu-z" in out.read_text()
    data["mappings"].pop()
    settings.GARANT_SSO_CONFIG = str(write_config(tmp_path / "sso3.yaml", data))
    with out.open("w") as stream:
        call_command("sso", "check", stdout=stream)
    assert out.read_text().strip().endswith("OK")


@pytest.mark.parametrize("sso", [False, True])
def test_no_garbage_sent_to_the_sso_pages_gives_a_server_error(sso, settings, tmp_path, db):
    if sso:
        path = write_config(tmp_path / "sso.yaml", provider_data(issuer="http://127.0.0.1:9/x"))
        settings.GARANT_SSO_CONFIG = str(path)
    client = Client(raise_request_exception=False)
    garbage = {"state": "x" * 5000, "code": "' OR 1=1", "error": "<script>", "next": "//evil"}
    for url in ("/sso/retour/", "/sso/op/connexion/", "/sso/%C3%A9/connexion/", "/sso/-/x/"):
        for method in (client.get, client.post):
            status = method(url, garbage).status_code
            assert status < 500 or (sso and status == 502 and "connexion" in url), (url, status)
    assert client.get("/sso/retour/", {"state": ["a", "b"]}).status_code == 400


def test_callback_failures_map_to_clear_statuses(settings, tmp_path, monkeypatch, db):
    """Explicit endpoints (no discovery): a dead token endpoint is a 502, a race on a new
    account a 409, a token that does not verify a 400."""
    import jwt
    from django.db import IntegrityError

    dead = f"http://127.0.0.1:{free_port()}"
    data = provider_data(
        endpoints={k: f"{dead}/{k}" for k in ("authorization", "token", "userinfo", "jwks")}
    )
    del data["issuer"]
    settings.GARANT_SSO_CONFIG = str(write_config(tmp_path / "sso.yaml", data))
    client = Client(raise_request_exception=False)

    def callback() -> object:
        location = client.get("/sso/op/connexion/")["Location"]
        assert location.startswith(f"{dead}/authorization?")
        state = parse_qs(urlparse(location).query)["state"][0]
        return client.get("/sso/retour/", {"state": state, "code": "c"})

    response = callback()
    assert response.status_code == 502 and "ne répond pas" in page_text(response)
    for error, status in ((IntegrityError("race"), 409), (jwt.InvalidTokenError("bad"), 400)):

        def fail(*args, error=error, **kwargs):
            raise error

        monkeypatch.setattr(SsoBackend, "authenticate", fail)
        assert callback().status_code == status
