"""`garant backup` and `garant restore`, on the engine the tests run on (SQLite, or PostgreSQL
with DATABASE_URL): an installation with a system, its qualification and an uploaded proof, a
project and a monitoring feed with ingested batches is backed up, then restored by the real
command line into a new data folder (PostgreSQL: a new database created and dropped here).
The restored installation has the same rows in every table, an audit chain that verifies,
the same monitoring report and the same file bytes. A tampered archive fails verification;
a restore over a non-empty installation is refused unless --force. A batch ingested while the
backup runs, between the database snapshot and the copy of the tables, is not seen by the
restored installation, which accepts that batch again.

Everything is committed (`transaction=True`): pg_dump and the child processes read it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from garant.compliance.models import Evidence
from garant.compliance.qualifications import qualify
from garant.core.audit import audit_context
from garant.core.models import Role
from garant.monitoring import ingest, report, storage
from garant.operations import backup
from tests.conftest import make_feed
from tests.test_compliance_qualify import TRIAGE_ANSWERS
from tests.test_lifecycle_builders import make_project
from tests.test_monitoring_report import PERIOD, synthetic

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
PROOF = b"%PDF-1.4 AIPD signee\n" + bytes(range(256)) * 4


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def installation(world):
    """A qualified system with a proof file, its project, and a feed with two batches."""
    system, dpo = world["a"]["system"], world["users"]["a"][Role.DPO]
    with audit_context(user=dpo, source="test"):
        qualify(system, TRIAGE_ANSWERS, dpo)
        evidence = Evidence(
            obligation=system.obligations.get(code="gdpr_35_dpia"),
            description="AIPD signée",
            added_by=dpo,
        )
        evidence.file.save("aipd-triage.pdf", ContentFile(PROOF), save=True)
    make_project(system, dpo)
    feed = make_feed(
        system, feature_columns=["age"], subgroup_columns=["site"], operating_threshold=0.4
    )
    predictions, outcomes = synthetic(1500, 60, drift_after=40)
    with audit_context(source="test"):
        ingest.ingest(feed, "predictions", predictions, "cli")
        ingest.ingest(feed, "outcomes", outcomes, "cli")
    return {"feed": feed, "evidence": evidence}


def row_counts_here() -> dict[str, int]:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def report_of(feed) -> dict:
    data = json.loads(json.dumps(report.build_report(feed, *PERIOD), ensure_ascii=False))
    data.pop("generated_at")
    return data


def audit_table() -> str:
    return next(m._meta.db_table for m in apps.get_models() if m.__name__ == "AuditEvent")


# --- the restored installation, reached from outside ---------------------------------------


class Target:
    """A new installation: a data folder, and on PostgreSQL a new database of its own."""

    def __init__(self, tmp_path: Path):
        self.data_dir = tmp_path / "restauree"
        self.database = None
        if connection.vendor == "postgresql":
            self.database = f"garant_backup_restore_{uuid.uuid4().hex[:10]}"
            self._admin(f'CREATE DATABASE "{self.database}"')

    def _pg(self, dbname: str):
        import psycopg

        db = connection.settings_dict
        return psycopg.connect(
            dbname=dbname,
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            autocommit=True,
        )

    def _admin(self, sql: str) -> None:
        with self._pg("postgres") as admin:
            admin.execute(sql)

    def drop(self) -> None:
        if self.database:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "GARANT_MONITORING_DIR", "GARANT_MONITORING_TABLES")
        }
        env["DJANGO_SETTINGS_MODULE"] = "garant.settings"
        env["GARANT_DATA_DIR"] = str(self.data_dir)
        if self.database:
            db = connection.settings_dict
            user = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
            host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            env["DATABASE_URL"] = f"postgres://{user}@{host}/{self.database}"
        return env

    def garant(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "garant", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def query(self, sql: str) -> list[tuple]:
        if self.database:
            with self._pg(self.database) as con:
                return con.execute(sql).fetchall()
        con = sqlite3.connect(self.data_dir / "garant.sqlite3")
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def row_counts(self) -> dict[str, int]:
        if self.database:
            listed = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        else:
            listed = (
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        return {t: self.query(f'SELECT COUNT(*) FROM "{t}"')[0][0] for (t,) in self.query(listed)}

    def report(self, feed) -> dict:
        done = self.garant(
            "monitor", "report", "--feed", feed.reference, "--from", str(PERIOD[0]),
            "--to", str(PERIOD[1]), "--format", "json",
        )  # fmt: skip
        data = json.loads(done.stdout)
        data.pop("generated_at")
        return data


@pytest.fixture
def target(tmp_path):
    made = Target(tmp_path)
    yield made
    made.drop()


# --- tests ---------------------------------------------------------------------------------


def test_backup_then_restore_gives_the_same_installation(installation, target, tmp_path):
    feed, evidence = installation["feed"], installation["evidence"]
    rows, figures = row_counts_here(), report_of(feed)
    assert figures["performance"]["count"] > 500 and figures["performance"]["n_labeled"] > 0
    archive = tmp_path / "garant.tar.gz"
    call_command("backup", str(archive))

    manifest = backup.verify(archive)
    assert manifest["row_counts"] == rows  # the snapshot, before its own audit event
    assert manifest["database"]["engine"] == connection.vendor
    assert f"files/{evidence.file.name}" in manifest["members"]
    assert set(manifest["monitoring"]["tables"]) == {
        f"{feed.pk}/predictions",
        f"{feed.pk}/outcomes",
    }
    assert f"monitoring/{feed.pk}/state.npz" in manifest["members"]
    assert manifest["missing_files"] == []
    assert manifest["audit_heads"]  # the chain head(s) at the snapshot
    events = apps.get_model("core", "AuditEvent").objects
    assert events.filter(object_type="core.backup").count() == 1  # recorded after the snapshot

    done = target.garant("restore", str(archive))
    assert "Restauration terminée" in done.stdout
    assert "chaînes intactes" in done.stdout and "migrations : à jour" in done.stdout

    restored = target.row_counts()
    assert restored.pop(audit_table()) == rows.pop(audit_table()) + 1  # + the restore's event
    assert restored == rows
    assert target.query(f'SELECT object_type FROM "{audit_table()}" ORDER BY id DESC LIMIT 1') == [
        ("core.restore",)
    ]
    assert "OK" in target.garant("audit", "verify").stdout
    assert target.report(feed) == figures
    restored_file = target.data_dir / "files" / evidence.file.name
    assert restored_file.read_bytes() == PROOF

    # a second restore over it is refused, and nothing changes; --force replaces it
    before_again = target.row_counts()
    again = target.garant("restore", str(archive), ok=False)
    assert again.returncode != 0
    assert "Restauration refusée : la cible n'est pas vide" in again.stderr
    assert target.row_counts() == before_again
    forced = target.garant("restore", "--force", str(archive))
    assert "Restauration terminée" in forced.stdout
    assert target.row_counts()[audit_table()] == manifest["row_counts"][audit_table()] + 1
    assert target.report(feed) == figures
    if connection.vendor == "sqlite":
        assert "mis de côté" in forced.stdout


def test_a_tampered_archive_fails_verification(installation, tmp_path):
    archive = tmp_path / "garant.tar"
    call_command("backup", str(archive))
    call_command("backup", str(archive), verify=True)
    name = f"files/{installation['evidence'].file.name}"
    with tarfile.open(archive) as tar:
        offset = tar.getmember(name).offset_data
    tampered = tmp_path / "alteree.tar"
    data = bytearray(archive.read_bytes())
    data[offset + 10] ^= 0x01
    tampered.write_bytes(bytes(data))
    with pytest.raises(CommandError, match=f"Archive altérée : {name} modifié"):
        call_command("backup", str(tampered), verify=True)
    with pytest.raises(CommandError, match="Archive altérée"):
        call_command("restore", str(tampered), verify_only=True)
    # a member taken out: named as missing
    pruned = tmp_path / "incomplete.tar"
    with tarfile.open(archive) as source, tarfile.open(pruned, "w") as out:
        for member in source:
            if member.name != name:
                out.addfile(member, source.extractfile(member))
    with pytest.raises(CommandError, match=f"membre manquant : {name}"):
        call_command("backup", str(pruned), verify=True)
    # cut short: no manifest
    truncated = tmp_path / "tronquee.tar"
    truncated.write_bytes(archive.read_bytes()[:offset])
    with pytest.raises(CommandError):
        call_command("backup", str(truncated), verify=True)


def test_restore_over_a_non_empty_installation_is_refused(installation, tmp_path):
    archive = tmp_path / "garant.tar"
    call_command("backup", str(archive))
    before = row_counts_here()
    with pytest.raises(CommandError, match="Restauration refusée : la cible n'est pas vide"):
        call_command("restore", str(archive))
    assert row_counts_here() == before
    with pytest.raises(CommandError, match="existe déjà"):
        call_command("backup", str(archive))


def test_a_batch_ingested_during_the_backup_is_not_seen_after_restore(
    installation, target, tmp_path, monkeypatch
):
    """The database is copied first: a batch committed after its snapshot may have rows in
    the copied Delta table, but the restored database does not know it, so no reader sees
    them, and the same batch can be sent again."""
    feed = installation["feed"]
    figures = report_of(feed)
    late, _ = synthetic(400, 60, seed=11)
    late_ids = pa.array([f"late-{i}" for i in range(late.num_rows)])
    late = late.set_column(0, "prediction_id", late_ids)
    copy_monitoring = backup._add_monitoring

    def ingest_meanwhile(*args, **kwargs):
        with audit_context(source="test"):
            ingest.ingest(feed, "predictions", late, "cli")
        return copy_monitoring(*args, **kwargs)

    monkeypatch.setattr(backup, "_add_monitoring", ingest_meanwhile)
    archive = tmp_path / "garant.tar"
    call_command("backup", str(archive))
    manifest = backup.verify(archive)
    assert len(manifest["monitoring"]["batches"][str(feed.pk)]) == 2  # not the late one
    assert report_of(feed) != figures  # the live installation sees the late batch

    target.garant("restore", str(archive))
    assert target.report(feed) == figures  # its rows are in the table, but not visible
    path = tmp_path / "late.parquet"
    pq.write_table(late, path)
    target.garant("monitor", "ingest", "--feed", feed.reference, "--kind", "predictions", str(path))
    assert target.report(feed) == report_of(feed)  # now the same as the live one


def test_an_archive_from_a_newer_garant_is_refused(installation, tmp_path):
    archive = tmp_path / "garant.tar"
    call_command("backup", str(archive))
    manifest = backup.verify(archive)
    manifest["migrations"].append(["core", "9999_from_the_future"])
    with pytest.raises(backup.BackupError, match="version plus récente de Garant"):
        backup._check_migrations(manifest)
    assert dt.datetime.fromisoformat(manifest["created_at"]).tzinfo is not None


def test_tables_in_object_storage_are_named_not_copied(world, settings, tmp_path):
    """GARANT_MONITORING_TABLES (object storage; a file:// URI here): the archive holds the
    states, says where the tables are, and the command warns they are not in it."""
    settings.GARANT_MONITORING_TABLES = (tmp_path / "bucket").as_uri()
    feed = make_feed(world["a"]["system"], operating_threshold=0.5)
    predictions, _ = synthetic(200, 10)
    with audit_context(source="test"):
        ingest.ingest(
            feed,
            "predictions",
            predictions.select(storage.schema(feed, "predictions").names[:5]),
            "cli",
        )
    storage.counts(feed)
    archive, warnings = tmp_path / "garant.tar", io.StringIO()
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=warnings)
    manifest = backup.verify(archive)
    assert manifest["monitoring"]["tables_uri"] == settings.GARANT_MONITORING_TABLES
    assert manifest["monitoring"]["tables"] == {}
    assert f"monitoring/{feed.pk}/state.npz" in manifest["members"]
    assert not any("_delta_log" in name for name in manifest["members"])
    assert "ne sont pas dans l'archive" in warnings.getvalue()


def test_a_failed_backup_leaves_no_archive_and_a_missing_file_is_named(
    installation, tmp_path, monkeypatch
):
    evidence = installation["evidence"]
    Path(evidence.file.path).unlink()  # a file the database names, gone from the disk
    archive, warnings = tmp_path / "garant.tar", io.StringIO()
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=warnings)
    assert backup.verify(archive)["missing_files"] == [evidence.file.name]
    assert evidence.file.name in warnings.getvalue()

    listed = backup._delta_files

    def vacuumed_meanwhile(table_dir):  # an erasure's vacuum right after the listing
        version, files = listed(table_dir)
        next(f for f in files if f.suffix == ".parquet").unlink()
        return version, files

    monkeypatch.setattr(backup, "_delta_files", vacuumed_meanwhile)
    failed = tmp_path / "echec.tar"
    with pytest.raises(CommandError, match="a changé pendant la copie"):
        call_command("backup", str(failed))
    assert sorted(p.name for p in tmp_path.iterdir() if "echec" in p.name) == []
    assert not any(p.name.startswith(".garant-backup-") for p in tmp_path.iterdir())


def test_each_table_is_copied_at_one_version(installation, tmp_path):
    """Data files of a commit being written (or left by a killed ingestion), a commit not yet
    published and a compacted log reaching past the version are left out; a checkpoint in."""
    feed = installation["feed"]
    table = storage.table_path(feed, "predictions")
    delta = DeltaTable(str(table))
    delta.create_checkpoint()
    version = delta.version()
    (table / "month=2024-03" / "part-00000-en-cours-c000.snappy.parquet").write_bytes(b"PAR1")
    (table / "_delta_log" / "_commit_en-cours.json.tmp").write_text("{}")
    (table / "_delta_log" / f"{0:020d}.{version + 1:020d}.compacted.json").write_text("")
    archive = tmp_path / "garant.tar"
    call_command("backup", str(archive), stdout=io.StringIO())
    manifest = backup.verify(archive)
    prefix = f"monitoring/{feed.pk}/predictions/"
    held = sorted(n.removeprefix(prefix) for n in manifest["members"] if n.startswith(prefix))
    data = sorted(Path(uri).relative_to(table).as_posix() for uri in delta.file_uris())
    log = [f"_delta_log/{v:020d}.json" for v in range(version + 1)]
    checkpoint = [f"_delta_log/{version:020d}.checkpoint.parquet", "_delta_log/_last_checkpoint"]
    assert held == sorted(log + checkpoint + data)
    assert manifest["monitoring"]["tables"][f"{feed.pk}/predictions"] == {
        "version": version,
        "files": len(held),
    }
