# ruff: noqa: F811 (the shared fixtures are imported by name)
"""Input limits: no text longer than MAX_TEXT_LENGTH and no NUL character is stored, through
a form or the API; the refusal is a form error or a JSON 422 in French."""

import importlib
import inspect
import json
import pkgutil

import pytest
from django import forms
from django.db import models
from django.urls import reverse

import garant
from garant.core.models import AuditEvent, Role, Service
from garant.core.security import MAX_FIELD_LENGTH, MAX_TEXT_LENGTH
from garant.governance.models import Committee
from garant.registry.models import AISystem
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

TOO_LONG = "x" * (MAX_TEXT_LENGTH + 1)
LONG_MESSAGE = f"Texte trop long ({MAX_TEXT_LENGTH} caractères au plus)."
NUL_MESSAGE = "Les caractères nuls ne sont pas autorisés."


def post_json(client, url, payload, method="post"):
    return getattr(client, method)(url, json.dumps(payload), content_type="application/json")


def _model_forms():
    for module in pkgutil.walk_packages(garant.__path__, "garant."):
        if module.name.endswith(".forms"):
            for _name, cls in inspect.getmembers(importlib.import_module(module.name)):
                if inspect.isclass(cls) and issubclass(cls, forms.ModelForm) and cls._meta.model:
                    yield cls


def test_every_text_field_of_every_model_form_has_a_length_limit():
    checked = 0
    for form in _model_forms():
        for name, field in form.base_fields.items():
            try:
                model_field = form._meta.model._meta.get_field(name)
            except Exception:
                continue
            if isinstance(model_field, models.TextField):
                assert field.max_length is not None, f"{form.__name__}.{name}"
                checked += 1
    assert checked > 20


def test_api_refuses_an_oversized_name_and_a_nul_in_french(world):
    client = token_client(world["users"]["a"][Role.ADMIN])
    events = AuditEvent.objects.count()
    url = "/api/services"
    est = world["a"]["est"].pk
    too_long = post_json(client, url, {"establishment": est, "name": "S" * 201})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["field"] == "name"
    assert "200 caractères" in too_long.json()["detail"][0]["message"]
    nul = post_json(client, url, {"establishment": est, "name": "Urgences\x00"})
    assert nul.status_code == 422
    assert nul.json() == {"detail": [{"field": "name", "message": NUL_MESSAGE}]}
    huge = post_json(client, url, {"establishment": est, "name": "Urgences", "pole": TOO_LONG})
    assert huge.status_code == 422
    assert huge.json() == {"detail": [{"field": "pole", "message": LONG_MESSAGE}]}
    assert Service.objects.count() == 2 and AuditEvent.objects.count() == events


def test_api_refuses_nul_and_oversized_text_anywhere_in_a_body_or_query(world):
    client = token_client(world["users"]["a"][Role.ADMIN])
    system = world["a"]["system"]
    answers = post_json(
        client, "/api/compliance/evaluate", {"answers": {"technique": ["learned\x00"]}}
    )
    assert answers.status_code == 422
    assert answers.json() == {"detail": [{"field": "answers.technique.0", "message": NUL_MESSAGE}]}
    comment = post_json(
        client, f"/api/systems/{system.pk}", {"intended_purpose": TOO_LONG}, method="patch"
    )
    assert comment.status_code == 422
    assert comment.json()["detail"] == [{"field": "intended_purpose", "message": LONG_MESSAGE}]
    query = client.get("/api/systems", {"solution_type": "S1\x00"})
    assert query.status_code == 422
    assert query.json() == {"detail": [{"field": "solution_type", "message": NUL_MESSAGE}]}
    system.refresh_from_db()
    assert system.intended_purpose == "Aide à la décision"


def test_forms_refuse_an_oversized_name_and_text_and_a_nul(world, client_for):
    client = client_for(world["users"]["a"][Role.ADMIN])
    url = reverse("governance:committee_create")
    base = {"establishment": world["a"]["est"].pk, "name": "Comité IA", "kind": "single"}
    response = client.post(url, {**base, "name": "C" * 201})
    assert response.status_code == 200
    assert "au plus 200 caractères" in response.content.decode()
    response = client.post(url, {**base, "mandate": TOO_LONG})
    assert response.status_code == 200
    assert f"au plus {MAX_TEXT_LENGTH} caractères" in response.content.decode()
    assert f'maxlength="{MAX_TEXT_LENGTH}"' in response.content.decode()  # the textarea's
    response = client.post(url, {**base, "mandate": "m" * (MAX_FIELD_LENGTH + 1)})
    assert response.status_code == 400  # refused before any form reads it
    assert f"dépasse {MAX_FIELD_LENGTH} caractères" in response.content.decode()
    response = client.post(url, {**base, "name": "Comité\x00"})
    assert response.status_code == 400
    assert "caractère nul" in response.content.decode()
    assert not Committee.objects.exists()
    assert not AISystem.objects.filter(name__startswith="C" * 50).exists()
