"""Declarations of tools from the field: the short form with « je ne sais pas », the
referents' queue with what is missing, corrections until the review, the three outcomes,
tenancy, audit and the API."""

import pytest
from django.urls import reverse

from garant.core.models import AuditEvent
from garant.registry import declarations
from garant.registry.models import AISystem, Declaration

CREATE = reverse("registry:declaration_create")
LIST = reverse("registry:declaration_list")


def declare(client, **data):
    return client.post(CREATE, data)


def make_declaration(est, user, **kw):
    values = {"name": "Dictée intelligente", "purpose_unknown": True, **kw}
    return Declaration.objects.create(establishment=est, declared_by=user, **values)


@pytest.fixture
def nurse(world):
    return world["users"]["a"]["contributor"]


@pytest.fixture
def referent(world):
    return world["users"]["a"]["referent"]


def test_a_short_declaration_keeps_je_ne_sais_pas_apart_from_empty(world, client_for, nurse):
    est = world["a"]["est"]
    response = declare(
        client_for(nurse),
        establishment=est.pk,
        name="Aide à la cotation",
        purpose_unknown="on",
        service=world["a"]["service"].pk,
    )
    declaration = Declaration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == declaration.get_absolute_url()
    assert declaration.declared_by == nurse
    assert declaration.status == Declaration.Status.PENDING
    # "je ne sais pas" is stored as such; the unanswered question stays merely empty
    assert (declaration.purpose, declaration.purpose_unknown) == ("", True)
    assert (declaration.context, declaration.context_unknown) == ("", False)
    assert declaration.missing() == [
        {"field": "purpose", "label": "ce qu'il fait", "unknown": True},
        {
            "field": "context",
            "label": "où en avez-vous entendu parler ou l'avez-vous utilisé ?",
            "unknown": False,
        },
    ]


def test_the_declarer_is_told_what_happens_next(world, client_for, nurse):
    declaration = make_declaration(world["a"]["est"], nurse)
    page = client_for(nurse).get(declaration.get_absolute_url()).content.decode()
    assert "Et maintenant ?" in page
    assert "Un référent IA de votre établissement va l&#x27;examiner" in page
    assert reverse("registry:declaration_edit", args=[declaration.pk]) in page
    assert "le déclarant ne sait pas" in page  # purpose: « je ne sais pas »
    assert "non renseigné" in page  # the service, left empty


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"name": "Outil X", "name_unknown": "on"},
            "name",
            "Vous avez répondu et coché « Je ne sais pas » : gardez l'un ou l'autre.",
        ),
        (
            {"name_unknown": "on", "purpose_unknown": "on"},
            "__all__",
            "Répondez au moins à une question (le nom de l'outil ou ce qu'il fait, même "
            "approximativement) : le référent IA a besoin d'un point de départ.",
        ),
        ({"name": "x" * 201}, "name", "Assurez-vous que cette valeur comporte au plus 200"),
    ],
)
def test_bad_declarations_are_refused_in_french(world, client_for, nurse, data, field, message):
    response = declare(client_for(nurse), establishment=world["a"]["est"].pk, **data)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field])
    assert not Declaration.objects.exists()


def test_a_service_of_another_establishment_is_refused(world, client_for, nurse):
    response = declare(
        client_for(nurse),
        establishment=world["a"]["est"].pk,
        name="Outil",
        service=world["b"]["service"].pk,
    )
    assert response.status_code == 200
    assert "service" in response.context["form"].errors
    assert not Declaration.objects.exists()


def test_the_auditor_does_not_declare(world, client_for):
    response = client_for(world["users"]["a"]["auditor"]).get(CREATE)
    assert response.status_code == 403


def test_the_queue_highlights_what_is_missing(world, client_for, nurse, referent):
    make_declaration(world["a"]["est"], nurse)
    make_declaration(world["b"]["est"], world["users"]["b"]["contributor"], name="Outil de B")
    response = client_for(referent).get(LIST)
    queue = list(response.context["to_review"])
    assert [d.name for d in queue] == ["Dictée intelligente"]
    page = response.content.decode()
    assert '<span class="badge unknown">Ce qu&#x27;il fait (ne sait pas)</span>' in page
    assert '<span class="badge missing">Service</span>' in page
    assert "Outil de B" not in page
    # the contributor has no queue, only their own declarations
    assert client_for(nurse).get(LIST).context["to_review"] is None


def test_the_home_page_offers_declaring_and_proposing_and_lists_the_queue(
    world, client_for, nurse, referent
):
    make_declaration(world["a"]["est"], nurse)
    home = client_for(nurse).get("/").content.decode()
    assert reverse("registry:declaration_create") in home
    assert reverse("lifecycle:idea_create") in home
    home = client_for(referent).get("/").content.decode()
    assert "Déclarations à examiner" in home
    assert "1 déclaration en attente" in home
    auditor_home = client_for(world["users"]["a"]["auditor"]).get("/").content.decode()
    assert reverse("registry:declaration_create") not in auditor_home


def test_the_declarer_corrects_until_the_review(world, client_for, nurse, referent):
    est = world["a"]["est"]
    declaration = make_declaration(est, nurse)
    edit = reverse("registry:declaration_edit", args=[declaration.pk])
    response = client_for(nurse).post(
        edit, {"name": "Dictée intelligente", "purpose": "Rédige les transmissions"}
    )
    assert response.status_code == 302
    declaration.refresh_from_db()
    assert (declaration.purpose, declaration.purpose_unknown) == ("Rédige les transmissions", False)
    assert declaration.establishment == est  # fixed after creation
    # another person may not correct it, even a referent
    assert client_for(referent).get(edit).status_code == 403

    declarations.review(declaration, referent, "rejected", note="Pas un outil d'IA")
    response = client_for(nurse).post(edit, {"name": "Autre nom"}, follow=True)
    declaration.refresh_from_db()
    assert declaration.name == "Dictée intelligente"
    assert "elle ne peut plus être corrigée" in response.content.decode()
    page = client_for(nurse).get(declaration.get_absolute_url()).content.decode()
    assert edit not in page
    assert "Pas un outil d&#x27;IA" in page


def test_register_completes_the_declaration_into_a_register_entry(
    world, client_for, nurse, referent
):
    est, service = world["a"]["est"], world["a"]["service"]
    declaration = make_declaration(
        est, nurse, purpose="Rédige les transmissions", purpose_unknown=False, service=service
    )
    url = reverse("registry:declaration_register", args=[declaration.pk])
    form = client_for(referent).get(url).context["form"]
    assert form.initial["name"] == "Dictée intelligente"
    assert form.initial["intended_purpose"] == "Rédige les transmissions"
    assert form.initial["services"] == [service.pk]
    response = client_for(referent).post(
        url,
        {
            "establishment": est.pk,
            "name": "Dictée intelligente",
            "intended_purpose": "Rédige les transmissions",
            "services": [service.pk],
            "solution_type": "S4",
            "domain": "D1",
            "modality": "M1",
            "phase": "routine",
            "device_status": "unknown",
        },
    )
    system = AISystem.objects.get(name="Dictée intelligente")
    assert response["Location"] == system.get_absolute_url()
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.REGISTERED
    assert declaration.ai_system == system
    assert declaration.reviewed_by == referent
    # a second review is refused, the system is not created twice
    again = client_for(referent).post(url, {"establishment": est.pk, "name": "Bis"})
    assert again.status_code == 302
    assert AISystem.objects.filter(name="Bis").count() == 0


def test_an_invalid_register_form_keeps_the_declaration_pending(world, client_for, nurse, referent):
    declaration = make_declaration(world["a"]["est"], nurse)
    url = reverse("registry:declaration_register", args=[declaration.pk])
    response = client_for(referent).post(url, {"establishment": world["a"]["est"].pk})
    assert response.status_code == 200
    assert "Ce champ est obligatoire." in response.content.decode()
    declaration.refresh_from_db()
    assert declaration.is_pending


def test_merge_with_an_existing_system(world, client_for, nurse, referent):
    declaration = make_declaration(world["a"]["est"], nurse)
    review = reverse("registry:declaration_review", args=[declaration.pk])
    system = world["a"]["system"]
    # a system of another establishment is not offered, hence refused
    client_for(referent).post(
        review, {"action": "merge", "merge-ai_system": world["b"]["system"].pk}
    )
    declaration.refresh_from_db()
    assert declaration.is_pending
    client_for(referent).post(
        review, {"action": "merge", "merge-ai_system": system.pk, "merge-note": "Déjà connu"}
    )
    declaration.refresh_from_db()
    assert (declaration.status, declaration.ai_system, declaration.review_note) == (
        Declaration.Status.MERGED,
        system,
        "Déjà connu",
    )
    page = client_for(nurse).get(declaration.get_absolute_url()).content.decode()
    assert "Cet outil était déjà connu" in page
    assert system.get_absolute_url() in page


def test_reject_needs_a_reason_in_french(world, client_for, nurse, referent):
    declaration = make_declaration(world["a"]["est"], nurse)
    review = reverse("registry:declaration_review", args=[declaration.pk])
    response = client_for(referent).post(review, {"action": "reject"}, follow=True)
    assert "Motif (lu par le déclarant) : Ce champ est obligatoire." in response.content.decode()
    declaration.refresh_from_db()
    assert declaration.is_pending


def test_only_referents_and_admins_review(world, client_for, nurse):
    declaration = make_declaration(world["a"]["est"], nurse)
    review = reverse("registry:declaration_review", args=[declaration.pk])
    for role in ("contributor", "committee", "dpo", "auditor"):
        user = world["users"]["a"][role]
        response = client_for(user).post(review, {"action": "reject", "reject-note": "Non"})
        assert response.status_code == 403, role
        url = reverse("registry:declaration_register", args=[declaration.pk])
        assert client_for(user).get(url).status_code == 403, role
    declaration.refresh_from_db()
    assert declaration.is_pending


def test_another_establishment_never_sees_a_declaration(world, client_for, nurse):
    declaration = make_declaration(world["a"]["est"], nurse)
    for role, user in world["users"]["b"].items():
        client = client_for(user)
        for name in ("declaration_detail", "declaration_edit", "declaration_register"):
            assert client.get(reverse(f"registry:{name}", args=[declaration.pk])).status_code == (
                404
            ), (role, name)
        review = reverse("registry:declaration_review", args=[declaration.pk])
        assert client.post(review, {"action": "reject", "reject-note": "x"}).status_code == 404
        assert "Dictée intelligente" not in client.get(LIST).content.decode()
        assert "Dictée intelligente" not in client.get("/").content.decode()


def test_every_write_is_audited(world, client_for, nurse, referent):
    client = client_for(nurse)
    declare(client, establishment=world["a"]["est"].pk, name="Outil", purpose_unknown="on")
    declaration = Declaration.objects.get()
    client.post(
        reverse("registry:declaration_edit", args=[declaration.pk]),
        {"name": "Outil", "purpose": "Trie les appels"},
    )
    client_for(referent).post(
        reverse("registry:declaration_review", args=[declaration.pk]),
        {"action": "reject", "reject-note": "Hors champ"},
    )
    events = AuditEvent.objects.filter(object_type="registry.declaration").order_by("id")
    assert [(e.action, e.actor_name) for e in events] == [
        ("create", nurse.username),
        ("update", nurse.username),
        ("update", referent.username),
    ]
    assert events[0].changes["purpose_unknown"] == [None, True]
    assert events[2].changes["status"] == ["pending", "rejected"]


# --- API -------------------------------------------------------------------------------------


def test_api_declare_correct_and_review(world, client_for, nurse, referent):
    from tests.conftest import token_client

    api = token_client(nurse)
    response = api.post(
        "/api/declarations",
        {"establishment": world["a"]["est"].pk, "name": "Outil", "purpose_unknown": True},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["purpose_unknown"] is True and body["purpose"] == ""
    assert [m["field"] for m in body["missing"]] == ["purpose", "service", "context"]
    pk = body["id"]
    # an answer while « je ne sais pas » stays ticked: refused, in French, naming the field
    response = api.patch(
        f"/api/declarations/{pk}", {"purpose": "Trie"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "field": "purpose",
            "message": "Vous avez répondu et coché « Je ne sais pas » : gardez l'un ou l'autre.",
        }
    ]
    response = api.patch(
        f"/api/declarations/{pk}",
        {"purpose": "Trie", "purpose_unknown": False},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["purpose"] == "Trie"
    # another person of the establishment does not correct it
    other = token_client(world["users"]["a"]["committee"])
    response = other.patch(
        f"/api/declarations/{pk}", {"purpose": "X"}, content_type="application/json"
    )
    assert response.status_code == 403
    # the nurse does not review; the referent does, and the declaration is then frozen
    review = {"outcome": "merged", "ai_system": world["a"]["system"].pk, "note": "Connu"}
    assert (
        api.post(
            f"/api/declarations/{pk}/review", review, content_type="application/json"
        ).status_code
        == 403
    )
    response = token_client(referent).post(
        f"/api/declarations/{pk}/review", review, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "merged"
    response = api.patch(
        f"/api/declarations/{pk}", {"purpose": "Autre"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "déjà été examinée" in response.json()["detail"]
    # the referent's queue is empty again
    queue = token_client(referent).get("/api/declarations?status=pending").json()
    assert queue["items"] == []


def test_the_demo_has_pending_declarations_from_field_staff(demo, client_for):
    from garant.core.models import User

    pending = Declaration.objects.filter(status=Declaration.Status.PENDING)
    assert {d.declared_by.username for d in pending} == {"terrain.valmont", "terrain.rochebrune"}
    nameless = pending.get(name_unknown=True)
    assert nameless.name == "" and nameless.service_unknown and not nameless.context_unknown
    referent = User.objects.get(username="referent.valmont")
    home = client_for(referent).get("/").content.decode()
    assert "2 déclarations en attente" in home
    queue = client_for(referent).get(LIST).context["to_review"]
    assert {d.establishment.code for d in queue} == {"valmont"}
