"""Objections, verifiable erasure and the public register in a real headless Chromium (issue 15's
acceptance): the DPO records a patient's objection to evaluation use, then erases the patient's
data on the withdrawal of consent, and downloads the certificate (a real PDF and its JSON, whose
counts are the rows that left the monitoring tables, and which never hold the identifier); a
visitor without an account reads the public register, which shows the published fields only."""

import io
import json
import re
from pathlib import Path

import pypdf
import pytest
from django.urls import reverse

from garant.core.audit import audit_context
from garant.core.models import Role
from garant.monitoring import storage
from garant.monitoring.ingest import ingest
from garant.patients import objections, public
from garant.patients.models import ErasureRun, Objection, PatientNotice
from garant.patients.pseudonyms import pseudonym
from tests.conftest import make_feed
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)
from tests.test_patients_erasure import TARGET, other, outcomes, predictions
from tests.test_patients_info import _publishable

pytestmark = pytest.mark.browser


def _patient(i: int) -> str:  # the target every third prediction, other patients in between
    return TARGET if i % 3 == 0 else other(i)


def _rows(feed) -> dict[str, int]:
    storage._cache.clear()
    return {kind: storage.read(feed, kind).num_rows for kind in ("predictions", "outcomes")}


def test_the_dpo_objects_erases_and_certifies_then_a_visitor_reads_the_register(
    page,  # noqa: F811
    chromium,  # noqa: F811
    live_server,
    world,
):
    est, system = world["a"]["est"], world["a"]["system"]
    feed = make_feed(system, operating_threshold=0.5, model_version_column="")
    for first in (0, 12):  # two batches, the target in both: 8 predictions and their outcomes
        ingest(feed, "predictions", predictions(first, 12, _patient), "api")
    ingest(feed, "outcomes", outcomes(0, 24), "api")
    before = _rows(feed)
    assert before == {"predictions": 24, "outcomes": 24}
    # the register: one system with a published notice, two fields chosen and published
    shown = _publishable(world, "Tri des urgences publié")
    with audit_context(user=world["users"]["a"][Role.DPO], source="test"):
        register = public.register_of(est)
        register.published_fields = ["name", "purpose"]
        register.introduction = "Les outils d'IA utilisés dans nos services."
        register.save()
        public.publish(register, world["users"]["a"][Role.DPO])
    version = PatientNotice.objects.get(ai_system=shown).approved_version

    # the DPO records the patient's objection to evaluation use by the triage system
    login(page, live_server, "dpo-a")
    page.goto(live_server.url + reverse("patients_erasure:index"))
    page.get_by_role("link", name="Enregistrer une opposition").click()
    page.get_by_role("heading", name="Enregistrer une opposition").wait_for()
    page.get_by_label("Identifiant du patient").fill(TARGET)
    page.get_by_label("Finalité").select_option("evaluation")
    page.get_by_label("Système d'IA").select_option(label=system.name)
    page.get_by_label("Reçue le").fill("2026-12-01")
    page.get_by_label("Référence de la demande").fill("DR-2026-015")
    page.get_by_role("button", name="Enregistrer l'opposition").click()
    page.get_by_text("Opposition enregistrée (l'identifiant n'est pas conservé").wait_for()
    objection = Objection.objects.unrestricted().get()
    assert (objection.pseudonym, objection.ai_system_id) == (pseudonym(TARGET), system.pk)
    assert (objection.purpose, objection.lifted_at) == ("evaluation", None)
    assert objections.check(est, "evaluation", system.pk, [TARGET, other(1)]).tolist() == [
        False,
        True,
    ]
    listed = page.get_by_role("region", name="Oppositions").locator("tbody tr")
    assert listed.count() == 1 and "DR-2026-015" in listed.inner_text()
    assert pseudonym(TARGET)[:12] in listed.inner_text()
    assert TARGET not in page.content()

    # then the withdrawal of consent: the erasure is refused unconfirmed, then run
    page.get_by_role("link", name="Effacer les données d'un patient").click()
    page.get_by_role("heading", name="Effacer les données d'un patient").wait_for()
    page.get_by_label("Identifiant du patient").fill(TARGET)
    page.get_by_label("Motif").select_option("withdrawal")
    page.get_by_label("Référence de la demande").fill("DR-2026-016")
    page.get_by_role("button", name="Effacer et délivrer le certificat").click()
    page.get_by_role("heading", name="Effacer les données d'un patient").wait_for()
    assert not ErasureRun.objects.unrestricted().exists()  # the browser refuses it unchecked
    page.get_by_label(re.compile(r"Je confirme : les données de ce patient")).check()
    page.get_by_role("button", name="Effacer et délivrer le certificat").click()
    page.get_by_text("Effacement terminé : 16 enregistrement(s) supprimé(s).").wait_for()
    run = ErasureRun.objects.unrestricted().get()
    assert page.url == live_server.url + run.get_absolute_url()
    assert (run.reason, run.request_reference) == ("withdrawal", "DR-2026-016")
    after = _rows(feed)
    assert after == {"predictions": 16, "outcomes": 16}
    left = storage.read(feed, "predictions")["patient_id"].to_pylist()
    assert TARGET not in left and other(1) in left
    page.get_by_text("certificat conforme à son empreinte").wait_for()
    assert TARGET not in page.content()

    # the certificate, downloaded: a real PDF, and its JSON whose counts are the rows removed
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Télécharger le certificat (PDF)").click()
    pdf = Path(pdf_download.value.path()).read_bytes()
    assert pdf_download.value.suggested_filename == f"certificat-effacement-{run.pk}.pdf"
    assert pdf.startswith(b"%PDF-") and TARGET.encode() not in pdf
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert run.pseudonym in text.replace("\n", "") and TARGET not in text
    with page.expect_download() as json_download:
        page.get_by_role("link", name="Certificat (JSON)").click()
    raw = Path(json_download.value.path()).read_bytes()
    assert TARGET.encode() not in raw
    certificate = json.loads(raw)
    stores = {(s["store"], s.get("feed")): s for s in certificate["stores"]}
    for kind in ("predictions", "outcomes"):
        removed = stores[(f"monitoring.{kind}", feed.pk)]["records_removed"]
        assert removed == before[kind] - after[kind] == 8, kind
    assert certificate["records_removed"] == run.records_removed == 16
    assert sum(s.get("records_removed", 0) for s in certificate["stores"]) == 16
    assert certificate["pseudonym"] == pseudonym(TARGET)
    assert certificate["audit"]["seq"] == run.audit_seq

    # a visitor without an account (a fresh browser, no cookies) reads the public register
    visitor = chromium.new_context(locale="fr-FR")
    try:
        anonymous = visitor.new_page()
        anonymous.set_default_timeout(15_000)
        register_url = live_server.url + reverse("public_register:establishment", args=[est.pk])
        anonymous.goto(register_url)
        anonymous.get_by_role(
            "heading", name=f"L'intelligence artificielle utilisée à {est.name}"
        ).wait_for()
        anonymous.get_by_role("heading", name=shown.name).wait_for()
        assert anonymous.url == register_url  # not sent to the sign-in page
        body = anonymous.locator("main").inner_text()
        assert version.what in body and "Ce que fait l'outil" in body
        assert "Les outils d'IA utilisés dans nos services." in body
        for unpublished in ("Données utilisées", "Fournisseur", "Contact", "Garantie humaine"):
            assert unpublished not in body, unpublished
        assert version.data_used not in body
        assert system.name not in body  # no published notice: not in the register
        export = visitor.request.get(
            live_server.url + reverse("public_register:json", args=[est.pk])
        ).json()
        assert export["fields"] == ["name", "purpose"]
        assert [set(a["garant"]) for a in export["algorithms"]] == [{"name", "purpose"}]
        assert export["algorithms"][0]["algorithm"]["name"] == shown.name
        other_register = reverse("public_register:establishment", args=[world["b"]["est"].pk])
        assert visitor.request.get(live_server.url + other_register).status == 404
    finally:
        visitor.close()
