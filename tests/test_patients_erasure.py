# ruff: noqa: F811 (the feed fixture is imported by name)
"""Objections per system and purpose and verifiable deletion (issue 15 items 4-5): the batch
check of identifiers, the pseudonyms that cannot be reversed without the key, the monitoring
ingestion dropping or refusing the rows of objectors, and an erasure run that leaves no file
holding the identifier and a certificate whose counts match."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pypdf
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from garant.core.audit import audit_context, verify
from garant.core.models import AuditEvent
from garant.monitoring import storage
from garant.monitoring.ingest import BatchRefused, ingest
from garant.monitoring.models import Feed
from garant.oversight import ingest as oversight_ingest
from garant.oversight import storage as oversight_storage
from garant.oversight.models import FeedbackToken
from garant.patients import deletion, objections
from garant.patients.models import ErasureRun, Objection
from garant.patients.pseudonyms import pseudonym, pseudonyms
from tests.conftest import make_feed
from tests.test_monitoring_erasure import everything_stored, traces
from tests.test_monitoring_state import assert_same, recount

URL = "/api/objections/check"
T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
TARGET = "IPP-7731-QK"


def predictions(first: int, n: int, patient) -> pa.Table:
    k = range(first, first + n)
    return pa.table(
        {
            "prediction_id": [f"pr-{i:05d}" for i in k],
            "timestamp": [(T0 + dt.timedelta(days=4 * i)).isoformat() for i in k],
            "patient_id": [patient(i) for i in k],
            "score": [round((i * 37 % 100) / 100, 2) for i in k],
        }
    )


def outcomes(first: int, n: int, with_patient=None) -> pa.Table:
    k = range(first, first + n)
    columns = {
        "prediction_id": [f"pr-{i:05d}" for i in k],
        "outcome": [int(i % 3 == 0) for i in k],
        "outcome_time": [(T0 + dt.timedelta(days=4 * i, hours=5)).isoformat() for i in k],
    }
    if with_patient is not None:
        columns["patient_id"] = [with_patient(i) for i in k]
    return pa.table(columns)


def other(i: int) -> str:
    return f"IPP-{i % 9:04d}-AA"


@pytest.fixture
def feed(world):
    return make_feed(world["a"]["system"], operating_threshold=0.5, model_version_column="")


def object_to(establishment, identifier, purpose="evaluation", system=None, user=None):
    with audit_context(user=user, source="test"):
        return Objection.objects.create(
            establishment=establishment,
            pseudonym=pseudonym(identifier),
            purpose=purpose,
            ai_system=system,
            recorded_by=user,
        )


def token_client(establishment) -> Client:
    with audit_context(source="test"):
        _, raw = FeedbackToken.issue(establishment, "DPI de test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


# --- the check ---------------------------------------------------------------------------------


def test_the_check_answers_ten_thousand_identifiers_in_one_call(world):
    est, system = world["a"]["est"], world["a"]["system"]
    identifiers = [f"IPP-{i:06d}" for i in range(10_000)]
    evaluation = set(range(0, 10_000, 97))  # 104 objections to evaluation by this system
    for i in evaluation:
        object_to(est, identifiers[i], system=system)
    object_to(est, identifiers[5], purpose="research")  # another purpose: no effect
    object_to(est, identifiers[7])  # evaluation, every system of the establishment
    object_to(world["b"]["est"], identifiers[11])  # another establishment: no effect
    with audit_context(source="test"):
        lifted = object_to(est, identifiers[13])
        lifted.lifted_at = dt.datetime.now(dt.UTC)
        lifted.save()
    client = token_client(est)
    body = {"purpose": "evaluation", "system": system.pk, "identifiers": identifiers}
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 200, response.content
    answer = response.json()
    expected = [i not in evaluation | {7} for i in range(10_000)]
    assert answer["allowed"] == expected
    assert (answer["count"], answer["objected"]) == (10_000, len(evaluation | {7}))
    research = client.post(
        URL,
        {"purpose": "research", "identifiers": identifiers[:10]},
        content_type="application/json",
    ).json()
    assert research["allowed"] == [i != 5 for i in range(10)]
    event = AuditEvent.objects.filter(object_type="patients.objection_check").last()
    assert event.establishment_id == est.pk
    assert event.changes["objected"] == [None, len(evaluation | {7})]
    assert "IPP-" not in json.dumps(event.changes)


def test_the_check_refuses_bad_input_without_repeating_it(world):
    client = token_client(world["a"]["est"])
    response = client.post(
        URL,
        {"purpose": "vente", "system": world["b"]["system"].pk, "identifiers": ["ok", "", 3]},
        content_type="application/json",
    )
    assert response.status_code == 422
    fields = [p["field"] for p in response.json()["detail"]]
    assert fields == ["purpose", "system", "identifiers.1", "identifiers.2"]
    person = Client()
    person.force_login(world["users"]["a"]["dpo"])
    refused = person.post(
        URL, {"purpose": "care", "identifiers": ["x"]}, content_type="application/json"
    )
    assert refused.status_code == 401  # a clinical software's token only


def test_stored_pseudonyms_cannot_be_reversed_without_the_key(world):
    est = world["a"]["est"]
    identifiers = [f"IPP-{i:04d}-ZZ" for i in range(20)]
    for identifier in identifiers:
        object_to(est, identifier, purpose="training")
    stored = everything_stored()
    wrong_key = hmac.new(b"not the installation key", b"garant.patients.pseudonym.v1", "sha256")
    for identifier in identifiers:
        for trace in traces(identifier):  # the identifier, its sha256 / md5 / sha1
            assert trace not in stored
        unkeyed = hmac.digest(b"", identifier.encode(), "sha256").hex().encode()
        guessed = hmac.digest(wrong_key.digest(), identifier.encode(), "sha256").hex().encode()
        raw_secret = hmac.digest(
            settings.SECRET_KEY.encode(), identifier.encode(), "sha256"
        ).hex()  # SECRET_KEY is not the pseudonym key
        assert unkeyed not in stored and guessed not in stored
        assert raw_secret.encode() not in stored
        assert pseudonym(identifier).encode() in stored  # what is stored: the keyed one
    assert pseudonym("x") != hashlib.sha256(b"x").hexdigest()


# --- the monitoring ingestion ------------------------------------------------------------------


def test_ingestion_drops_the_rows_of_objectors_and_says_how_many(world, feed, client_for):
    est = world["a"]["est"]
    object_to(est, other(1), system=feed.ai_system)
    object_to(est, other(2))  # every system
    object_to(est, other(3), purpose="research")  # not evaluation
    object_to(world["b"]["est"], other(4))  # another establishment
    batch = ingest(feed, "predictions", predictions(0, 45, other), "api")
    assert (batch.rows, batch.dropped_rows) == (35, 10)  # 5 rows each of patients 1 and 2
    stored = storage.read(feed, "predictions")["patient_id"].to_pylist()
    assert other(1) not in stored and other(2) not in stored and other(3) in stored
    # outcomes carrying the patient are dropped too; the others name stored predictions
    kept = [i for i in range(45) if i % 9 not in (1, 2)]
    table = outcomes(0, 45, other).take(kept + [1, 2])
    later = ingest(feed, "outcomes", table, "api")
    assert (later.rows, later.dropped_rows) == (35, 2)
    # the API says it
    client = client_for(world["users"]["a"]["referent"])
    records = predictions(100, 18, other).to_pylist()
    response = client.post(
        f"/api/feeds/{feed.pk}/predictions", {"records": records}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["dropped_rows"] == 4
    assert "4 lignes écartées" in response.json()["detail"]
    page = client.get(feed.get_absolute_url()).text
    assert "10 écartées : patients opposés" in page and "Écarter leurs lignes" in page


def test_ingestion_refuses_a_batch_with_objectors_when_the_feed_says_so(world, feed):
    object_to(world["a"]["est"], other(1), system=feed.ai_system)
    with audit_context(source="test"):
        Feed.objects.unrestricted().filter(pk=feed.pk).update(objection_policy="refuse")
    feed.refresh_from_db()
    with pytest.raises(BatchRefused) as refused:
        ingest(feed, "predictions", predictions(0, 20, other), "api")
    errors = refused.value.errors
    assert refused.value.total == 3 and [e.row for e in errors] == [2, 11, 20]
    assert all(e.column == "patient_id" and other(1) not in e.reason for e in errors)
    assert storage._delta(feed, "predictions") is None  # nothing stored
    assert ingest(feed, "predictions", predictions(0, 20, other).slice(2, 8), "api").rows == 8


# --- verifiable deletion -----------------------------------------------------------------------


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_deletion_of_a_patient_in_three_batches(world, feed):
    est, system, dpo = world["a"]["est"], world["a"]["system"], world["users"]["a"]["dpo"]
    second = make_feed(
        system, name="Chutes", slug="chutes", operating_threshold=0.3, model_version_column=""
    )

    def patient(i):  # the target in every batch (every 4th row), the others in between
        return TARGET if i % 4 == 0 else other(i)

    for first in (0, 40, 80):  # three batches, predictions spread over months
        ingest(feed, "predictions", predictions(first, 40, patient), "api")
    ingest(feed, "outcomes", outcomes(0, 120), "api")
    ingest(second, "predictions", predictions(200, 12, patient), "api")
    # feedback events naming two of the target's predictions and one of another patient
    with audit_context(source="test"):
        token, _ = FeedbackToken.issue(est, "DPI")
        events = pa.table(
            {
                "system": [system.pk] * 3,
                "event_id": ["e1", "e2", "e3"],
                "time": ["2026-01-15T10:00:00+01:00"] * 3,
                "outcome": ["accepted"] * 3,
                "prediction_id": ["pr-00000", "pr-00004", "pr-00001"],
            }
        )
        oversight_ingest.ingest(est, events, "api", token=token)
    # an uploaded file that holds the identifier (named, not deleted)
    upload = Path(settings.MEDIA_ROOT) / "evidence" / "courrier.txt"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text(f"Demande du patient {TARGET}")

    monitoring = Path(settings.GARANT_MONITORING_DIR)
    assert any(TARGET.encode() in p.read_bytes() for p in _files_under(monitoring))  # the scan sees
    with audit_context(user=dpo, source="test"):
        run = deletion.run(est, TARGET, "withdrawal", dpo, request_reference="DR-2026-014")
    certificate = run.certificate
    stores = {(s["store"], s["feed"]): s for s in certificate["stores"]}
    assert stores[("monitoring.predictions", feed.pk)]["records_removed"] == 30
    assert stores[("monitoring.outcomes", feed.pk)]["records_removed"] == 30
    assert stores[("monitoring.predictions", second.pk)]["records_removed"] == 3
    assert stores[("monitoring.outcomes", second.pk)]["version_before"] is None
    assert stores[("oversight.events", None)]["records_removed"] == 2
    assert stores[("uploaded_files", None)]["files"] == ["evidence/courrier.txt"]
    assert run.records_removed == certificate["records_removed"] == 30 + 30 + 3 + 2
    predictions_store = stores[("monitoring.predictions", feed.pk)]
    assert predictions_store["version_after"] > predictions_store["version_before"]
    assert predictions_store["files_vacuumed"] > 0
    # the counts match the tables: every row of the patient gone, the others kept
    left = storage.read(feed, "predictions")
    assert left.num_rows == 120 - 30 and TARGET not in left["patient_id"].to_pylist()
    assert storage.read(feed, "outcomes").num_rows == 90
    for erased in (feed, second):  # the state: only the erased days counted again, exactly
        storage._cache.clear()
        assert_same(storage.counts(erased), recount(erased))
    assert oversight_storage.read(est.pk, [b.pk for b in token.batches.all()]).num_rows == 1
    # no Parquet or Delta file (nor the state, the log, the database) holds the identifier
    for path in _files_under(monitoring):
        assert TARGET.encode() not in path.read_bytes(), path
        if path.suffix == ".parquet":  # and decoded, whatever the compression
            assert TARGET not in str(pq.read_table(path).to_pydict()), path
    stored = everything_stored().replace(upload.read_bytes(), b"")
    assert not any(trace in stored for trace in traces(TARGET))
    # the certificate: never the identifier, its place in the audit chain verifiable
    text = json.dumps(certificate)
    assert TARGET not in text and certificate["pseudonym"] == pseudonym(TARGET)
    assert certificate["ran_by"]["username"] == dpo.username
    assert set(certificate["unreachable"]) == {"backups", "vendors", "trained_models", "exports"}
    event = AuditEvent.objects.get(chain=run.audit_chain, seq=run.audit_seq)
    assert event.hash == run.audit_hash == certificate["audit"]["hash"]
    assert deletion.verify(run) and verify().ok
    tampered = ErasureRun.objects.unrestricted().get(pk=run.pk)
    tampered.certificate["records_removed"] = 0
    assert not deletion.verify(tampered)

    # run again: nothing remains, a certificate of zeros
    with audit_context(user=dpo, source="test"):
        again = deletion.run(est, TARGET, "erasure", dpo)
    assert again.records_removed == 0
    assert all(s["records_removed"] == 0 for s in again.certificate["stores"])
    assert again.certificate["pseudonym"] == certificate["pseudonym"]


def test_deletion_stays_in_its_establishment(world, feed):
    est_b, dpo_b = world["b"]["est"], world["users"]["b"]["dpo"]
    ingest(feed, "predictions", predictions(0, 8, lambda i: TARGET), "api")
    with audit_context(user=dpo_b, source="test"):
        run = deletion.run(est_b, TARGET, "erasure", dpo_b)
    assert run.records_removed == 0
    assert not any(s.get("feed") == feed.pk for s in run.certificate["stores"])
    assert storage.read(feed, "predictions").num_rows == 8


def test_objections_module_answers_without_any_objection(world):
    allowed = objections.check(world["a"]["est"], "care", None, ["a", "b"])
    assert allowed.tolist() == [True, True]


# --- the DPO's pages ---------------------------------------------------------------------------


def test_the_dpo_records_an_objection_runs_an_erasure_and_downloads_the_certificate(
    world, feed, client_for
):
    est, system = world["a"]["est"], world["a"]["system"]
    ingest(feed, "predictions", predictions(0, 12, lambda i: TARGET if i % 3 else other(i)), "api")
    dpo = client_for(world["users"]["a"]["dpo"])
    referent = client_for(world["users"]["a"]["referent"])
    add = reverse("patients_erasure:objection_add", args=[est.pk])
    assert referent.get(add).status_code == 403  # the DPO office and admins only
    assert "Enregistrer une opposition" not in referent.get(reverse("patients_erasure:index")).text
    response = dpo.post(
        add,
        {
            "identifier": TARGET,
            "purpose": "evaluation",
            "ai_system": system.pk,
            "received_on": "2026-12-01",
            "request_reference": "DR-2026-014",
        },
    )
    assert response.status_code == 302
    objection = Objection.objects.unrestricted().get()
    assert (objection.pseudonym, objection.ai_system) == (pseudonym(TARGET), system)
    created = AuditEvent.objects.filter(object_type="patients.objection", action="create").get()
    assert created.actor_name == "dpo-a" and TARGET not in json.dumps(created.changes)
    assert objections.check(est, "evaluation", system.pk, [TARGET]).tolist() == [False]
    with pytest.raises(BatchRefused, match="1 erreur"):  # only objected rows: nothing to store
        ingest(feed, "predictions", predictions(50, 6, lambda i: TARGET), "api")

    erase = reverse("patients_erasure:erasure_add", args=[est.pk])
    assert referent.post(erase, {"identifier": TARGET, "reason": "withdrawal"}).status_code == 403
    unconfirmed = dpo.post(erase, {"identifier": TARGET, "reason": "withdrawal"})
    assert unconfirmed.status_code == 200 and not ErasureRun.objects.unrestricted().exists()
    response = dpo.post(
        erase,
        {
            "identifier": TARGET,
            "reason": "withdrawal",
            "request_reference": "DR-14",
            "confirm": "on",
        },
    )
    run = ErasureRun.objects.unrestricted().get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.records_removed == 8 and storage.read(feed, "predictions").num_rows == 4
    page = dpo.get(run.get_absolute_url()).text
    assert "certificat conforme à son empreinte" in page and "ne peut pas désapprendre" in page
    assert TARGET not in page
    certificate = dpo.get(reverse("patients_erasure:certificate_pdf", args=[run.pk]))
    assert certificate["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(certificate.content)).pages)
    assert run.pseudonym in text.replace("\n", "") and TARGET not in text
    assert "ne peut pas désapprendre" in text
    as_json = dpo.get(reverse("patients_erasure:certificate_json", args=[run.pk])).json()
    assert as_json["records_removed"] == 8 and as_json["audit"]["seq"] == run.audit_seq
    index = dpo.get(reverse("patients_erasure:index")).text
    assert "DR-14" in index and TARGET not in index
    # lifting the objection: the patient's rows are accepted again
    assert (
        dpo.post(reverse("patients_erasure:objection_lift", args=[objection.pk])).status_code == 302
    )
    objection.refresh_from_db()
    assert objection.lifted_at is not None
    assert ingest(feed, "predictions", predictions(50, 6, lambda i: TARGET), "api").rows == 6


def test_batch_pseudonyms_are_the_standard_hmac(settings):
    identifiers = ["IPP-1", "séjour 42", "x" * 100, " espace "]
    key = hmac.new(
        settings.GARANT_PSEUDONYM_KEY.encode(), b"garant.patients.pseudonym.v1", "sha256"
    ).digest()
    expected = [hmac.new(key, i.encode(), "sha256").hexdigest() for i in identifiers]
    assert pseudonyms(identifiers) == [pseudonym(i) for i in identifiers] == expected
    settings.GARANT_PSEUDONYM_KEY = "another installation"
    assert pseudonym("IPP-1") != expected[0]  # the key decides
