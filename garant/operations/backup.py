"""Backup and restore of a whole installation: `garant backup` and `garant restore`.

One archive (tar, gzip-compressed when its name ends in .tar.gz or .tgz) holds:

* ``database/garant.sqlite3`` (SQLite's online backup API) or ``database/garant.pgdump``
  (``pg_dump --format=custom``);
* ``files/…``: the uploaded files (``MEDIA_ROOT``);
* ``monitoring/…``: the feeds' Delta tables, each at one version, and their monitoring state;
* ``manifest.json``, last: Garant version, time, database engine, applied migrations, row
  count per table, audit chain head(s), the Delta versions, and the SHA-256 and size of every
  other member.

Order and consistency. The database is copied first, as one snapshot (SQLite: the backup API
copies it under one read lock; PostgreSQL: ``pg_dump`` runs on a snapshot exported from a
REPEATABLE READ transaction, which also counts the rows and reads the audit heads). The files
and the Delta tables are copied after it. That order is what makes the archive consistent:

* an ingestion commits its Delta rows *before* its `IngestBatch` row, so every batch in the
  database snapshot already has its rows in the table when the table is read afterwards;
  each table is copied at the version read then (its log up to that version and the data
  files of that version only), never a half-written commit;
* rows of batches committed after the snapshot may be in the copied table: readers only see
  rows whose batch is in the database (`storage._committed_rows`), so they stay invisible,
  and an ingestion that gets the same batch id again after a restore removes them first
  (`storage.remove_leftovers`);
* the monitoring state records the batches it counts: one counting a batch the restored
  database does not know is recounted from the tables at its first read;
* uploaded files are written before the row that names them is committed, and never deleted
  by Garant, so the files of the snapshot are all there.

Copying the monitoring folder first and the database second would be wrong: a batch committed
in between would be in the database and not in the archive. A patient erasure (which deletes
rows and vacuums at once) running during a backup can make a table's file vanish while it is
copied: the backup then fails and says to run it again.

Tables in object storage (``GARANT_MONITORING_TABLES``) are not copied: the archive says so,
and the bucket's own versioning or replication has to cover them (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.conf import settings
from django.db import connections, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import load_backend
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

import garant

FORMAT = "garant.backup/1"
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/garant.sqlite3", "postgresql": "database/garant.pgdump"}
FILES = "files"
MONITORING = "monitoring"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup, a verification or a restore that cannot be done; the message says why."""


# --- small helpers -----------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class _Hashing:
    """A file object that hashes what is read from it."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size=-1):
        block = self.handle.read(size)
        self.digest.update(block)
        return block


def _jsonable(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def when(manifest: dict) -> str:
    """The time of a backup, local (dd/mm/yyyy hh:mm)."""
    moment = dt.datetime.fromisoformat(manifest["created_at"])
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")


@contextlib.contextmanager
def _temporary_alias(settings_dict: dict):
    """A database alias of its own (another file, or a second connection to the same base),
    for this thread only: not added to settings.DATABASES."""
    alias = f"garant_backup_{uuid.uuid4().hex[:12]}"
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    connections[alias] = wrapper
    try:
        yield alias
    finally:
        with contextlib.suppress(Exception):
            wrapper.close()
        with contextlib.suppress(AttributeError):
            del connections[alias]


def _engine(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupError(
            _("Moteur de base de données non pris en charge : %(vendor)s.") % {"vendor": vendor}
        )
    return vendor


def _pg_command(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _(
                "%(tool)s introuvable : installez les outils clients PostgreSQL (paquet "
                "postgresql-client, de la version majeure du serveur ou plus récente)."
            )
            % {"tool": name}
        )
    return path


def _pg_connection(settings_dict: dict) -> tuple[str, dict]:
    """The libpq connection string of a Django database and the environment (password)."""
    from psycopg.conninfo import make_conninfo

    params = {
        "dbname": settings_dict["NAME"],
        "host": settings_dict.get("HOST") or None,
        "port": str(settings_dict["PORT"]) if settings_dict.get("PORT") else None,
        "user": settings_dict.get("USER") or None,
    }
    options = settings_dict.get("OPTIONS") or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "service", "passfile"):
        if options.get(key):
            params[key] = str(options[key])
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return make_conninfo(**{k: v for k, v in params.items() if v is not None}), env


def _run(command: list[str], env: dict, what: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(
            _("%(what)s a échoué : %(error)s")
            % {"what": what, "error": (done.stderr or done.stdout).strip()[-2000:]}
        )
    return done.stdout


# --- what a database holds ---------------------------------------------------------------


@dataclass
class Contents:
    """What a database holds, as recorded in the manifest and compared after a restore."""

    migrations: list[list[str]]
    row_counts: dict[str, int]
    audit_heads: list[dict]
    batches: dict[str, list[int]]
    referenced_files: list[str] = field(default_factory=list)


def audit_heads(alias: str = "default") -> list[dict]:
    """The rows of the audit chain head model(s): the last sequence number and hash of each
    chain. Found by name so that per-establishment chains, or the model moving to another
    module, need no change here."""
    heads = []
    for model in apps.get_models():
        if model.__name__.endswith("ChainHead"):
            for row in model._default_manager.using(alias).order_by("pk").values():
                heads.append(
                    {"model": model._meta.label_lower} | {k: _jsonable(v) for k, v in row.items()}
                )
    return heads


def contents(alias: str = "default") -> Contents:
    """Row counts per table, migrations applied, audit heads, committed monitoring batches and
    the uploaded files the rows name, read through `alias`."""
    from garant.monitoring.models import IngestBatch

    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = sorted(connection.introspection.table_names(cursor))
        row_counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            row_counts[table] = cursor.fetchone()[0]
    migrations = sorted(
        [app, name] for app, name in MigrationRecorder(connection).applied_migrations()
    )
    batches: dict[str, list[int]] = {}
    if IngestBatch._meta.db_table in row_counts:
        for feed_id, pk in (
            IngestBatch.objects.using(alias).order_by("feed_id", "pk").values_list("feed_id", "pk")
        ):
            batches.setdefault(str(feed_id), []).append(pk)
    referenced = set()
    for model in apps.get_models():
        if model._meta.db_table not in row_counts:
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.FileField):
                names = model._default_manager.using(alias).exclude(**{model_field.attname: ""})
                referenced.update(n for n in names.values_list(model_field.attname, flat=True) if n)
    return Contents(
        migrations=migrations,
        row_counts=row_counts,
        audit_heads=audit_heads(alias) if tables else [],
        batches=batches,
        referenced_files=sorted(referenced),
    )


# --- backup ------------------------------------------------------------------------------


def _snapshot_sqlite(staging: Path) -> tuple[Path, Contents]:
    connection = connections["default"]
    connection.ensure_connection()
    path = staging / "garant.sqlite3"
    copy = sqlite3.connect(path)
    try:
        connection.connection.backup(copy)  # every page, under one read lock: one snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        copy.close()
    snapshot = {**connection.settings_dict, "NAME": str(path), "OPTIONS": {}, "CONN_MAX_AGE": 0}
    with _temporary_alias(snapshot) as alias:
        return path, contents(alias)


def _snapshot_postgresql(staging: Path) -> tuple[Path, Contents]:
    pg_dump = _pg_command("pg_dump")
    base = connections["default"].settings_dict
    path = staging / "garant.pgdump"
    with _temporary_alias({**base, "CONN_MAX_AGE": 0}) as alias:
        connection = connections[alias]
        connection.ensure_connection()
        with transaction.atomic(using=alias):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            conninfo, env = _pg_connection(base)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--no-password",
                    "--file",
                    str(path),
                    "--dbname",
                    conninfo,
                ],
                env,
                "pg_dump",
            )
            return path, contents(alias)  # the same snapshot as the dump


def _add(tar: tarfile.TarFile, members: dict, path: Path, name: str) -> None:
    """Add one file; its size is taken from the open file (a state replaced meanwhile is
    read whole, old or new)."""
    with open(path, "rb") as handle:
        info = tar.gettarinfo(arcname=name, fileobj=handle)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        hashing = _Hashing(handle)
        tar.addfile(info, hashing)
    members[name] = {"sha256": hashing.digest.hexdigest(), "size": info.size}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(timezone.now().timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


def _delta_files(table_dir: Path) -> tuple[int, list[Path]]:
    """A Delta table's version and the files that make it: its log up to that version and
    the data files of that version (not those of later commits nor removed ones)."""
    from deltalake import DeltaTable

    table = DeltaTable(str(table_dir))
    version = table.version()
    root = Path(os.path.realpath(table_dir))
    files = []
    for entry in sorted((table_dir / "_delta_log").iterdir()):
        if not entry.is_file() or entry.name.endswith(".tmp"):
            continue
        if entry.name == "_last_checkpoint":
            with contextlib.suppress(ValueError, KeyError, OSError):
                if json.loads(entry.read_text())["version"] <= version:
                    files.append(entry)
            continue
        # a commit, a checkpoint (or one of its parts), a .crc: named by their version; a
        # compacted log by its first and last ones
        versions = [int(p) for p in entry.name.split(".") if len(p) == 20 and p.isdigit()]
        if versions and entry.name[:20].isdigit() and max(versions) <= version:
            files.append(entry)
    for uri in table.file_uris():
        local = Path(os.path.realpath(uri.removeprefix("file://")))
        if root not in local.parents:
            raise BackupError(
                _("Fichier de données hors de sa table Delta : %(path)s") % {"path": uri}
            )
        files.append(table_dir / local.relative_to(root))
    return version, files


def _add_monitoring(tar: tarfile.TarFile, members: dict) -> dict:
    root = Path(settings.GARANT_MONITORING_DIR)
    described = {"tables_uri": settings.GARANT_MONITORING_TABLES or None, "tables": {}}
    if not root.is_dir():
        return described
    tables = sorted(p.parent for p in root.rglob("_delta_log") if p.is_dir())
    for table_dir in tables:
        relative = table_dir.relative_to(root).as_posix()
        try:
            version, files = _delta_files(table_dir)
            for path in files:
                _add(tar, members, path, f"{MONITORING}/{path.relative_to(root).as_posix()}")
        except FileNotFoundError as missing:
            raise BackupError(
                _(
                    "La table de suivi %(table)s a changé pendant la copie (un effacement de "
                    "patient ?) : %(file)s a disparu. Relancez la sauvegarde."
                )
                % {"table": relative, "file": missing.filename}
            ) from None
        described["tables"][relative] = {"version": version, "files": len(files)}
    for path in sorted(root.rglob("*")):
        if (
            not path.is_file()
            or any(t == path or t in path.parents for t in tables)
            or path.name.startswith(".")  # a state being written (.counts-*.npz)
            or path.suffix == ".lock"
        ):
            continue
        with contextlib.suppress(FileNotFoundError):  # a temporary file gone meanwhile
            _add(tar, members, path, f"{MONITORING}/{path.relative_to(root).as_posix()}")
    return described


def _tar_mode(path: Path, writing: bool) -> str:
    if not writing:
        return "r:*"
    return "w:gz" if path.name.endswith((".tar.gz", ".tgz")) else "w"


@dataclass
class Written:
    path: Path
    manifest: dict
    sha256: str
    size: int


def create(dest: str | Path) -> Written:
    """Write the archive `dest` (database first, then files and monitoring), atomically: a
    failed backup leaves no archive. Records a ``core.backup`` audit event."""
    from garant.core.audit import audit_context, record_event

    dest = Path(dest).resolve()
    if dest.exists():
        raise BackupError(
            _("%(path)s existe déjà : choisissez un autre nom d'archive.") % {"path": dest}
        )
    if not dest.parent.is_dir():
        raise BackupError(_("Dossier introuvable : %(path)s") % {"path": dest.parent})
    engine = _engine()
    if connections["default"].in_atomic_block:
        raise BackupError(_("Une sauvegarde ne peut pas être faite dans une transaction."))
    started = timezone.now()
    partial = dest.with_name(f".{dest.name}.partiel")
    try:
        with tempfile.TemporaryDirectory(prefix=".garant-backup-", dir=dest.parent) as staging:
            # 1. the database, as one snapshot
            snapshot = _snapshot_sqlite if engine == "sqlite" else _snapshot_postgresql
            db_path, held = snapshot(Path(staging))
            members: dict[str, dict] = {}
            with tarfile.open(partial, _tar_mode(dest, writing=True)) as tar:
                _add(tar, members, db_path, DATABASE_MEMBERS[engine])
                db_path.unlink()
                # 2. the uploaded files, then 3. the monitoring tables and state
                media = Path(settings.MEDIA_ROOT)
                if media.is_dir():
                    for path in sorted(p for p in media.rglob("*") if p.is_file()):
                        _add(tar, members, path, f"{FILES}/{path.relative_to(media).as_posix()}")
                monitoring = _add_monitoring(tar, members)
                missing = [
                    name for name in held.referenced_files if f"{FILES}/{name}" not in members
                ]
                manifest = {
                    "format": FORMAT,
                    "garant_version": garant.__version__,
                    "created_at": started.isoformat(),
                    "finished_at": timezone.now().isoformat(),
                    "database": {"engine": engine, "member": DATABASE_MEMBERS[engine]},
                    "migrations": held.migrations,
                    "row_counts": held.row_counts,
                    "audit_heads": held.audit_heads,
                    "monitoring": monitoring | {"batches": held.batches},
                    "files": {"count": sum(n.startswith(f"{FILES}/") for n in members)},
                    "missing_files": missing,
                    "members": members,
                }
                _add_bytes(
                    tar,
                    MANIFEST,
                    json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode(),
                )
            os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    written = Written(dest, manifest, _sha256_file(dest), dest.stat().st_size)
    with audit_context(source="command"):
        record_event(
            "core.backup",
            _("Sauvegarde %(name)s") % {"name": dest.name},
            {
                "archive": [None, str(dest)],
                "sha256": [None, written.sha256],
                "size": [None, written.size],
                "rows": [None, sum(held.row_counts.values())],
            },
        )
    return written


# --- verification ------------------------------------------------------------------------


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(_("Nom de membre dangereux dans l'archive : %(name)s") % {"name": name})
    return path


def _read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember(MANIFEST)
        manifest = json.loads(tar.extractfile(member).read())
    except (KeyError, AttributeError, ValueError):
        raise BackupError(
            _("Pas de manifeste lisible : ce n'est pas une archive Garant complète.")
        ) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("Format d'archive inconnu : %(format)s") % {"format": manifest.get("format")}
        )
    return manifest


def _check_sqlite(path: Path, manifest: dict) -> None:
    try:
        copy = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = copy.execute("PRAGMA integrity_check").fetchone()[0]
            counts = {
                table: copy.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                for table in manifest["row_counts"]
            }
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(_("Base SQLite illisible : %(error)s") % {"error": error}) from None
    if result != "ok":
        raise BackupError(_("Base SQLite endommagée : %(error)s") % {"error": result})
    if counts != manifest["row_counts"]:
        raise BackupError(_("Les nombres de lignes de la base ne sont pas ceux du manifeste."))


def _check_pgdump(path: Path) -> None:
    listing = _run(
        [_pg_command("pg_restore"), "--list", str(path)], dict(os.environ), "pg_restore --list"
    )
    if "TABLE DATA" not in listing:
        raise BackupError(_("La copie PostgreSQL ne contient aucune donnée de table."))


def _delta_problems(manifest: dict) -> list[str]:
    """Each Delta table of the manifest has the commit of its version and all its files."""
    problems = []
    for table, described in manifest["monitoring"]["tables"].items():
        prefix = f"{MONITORING}/{table}/"
        commit = f"{prefix}_delta_log/{described['version']:020d}.json"
        held = sum(name.startswith(prefix) for name in manifest["members"])
        if commit not in manifest["members"] or held != described["files"]:
            problems.append(
                _("table de suivi %(table)s incomplète (version %(version)s)")
                % {"table": table, "version": described["version"]}
            )
    return problems


def verify(archive: str | Path, keep_database: Path | None = None) -> dict:
    """Check every member's SHA-256 and size against the manifest, that nothing is missing or
    added, and that the database copy is readable (SQLite: integrity check and row counts;
    PostgreSQL: ``pg_restore --list``). Returns the manifest; `BackupError` names the first
    problems. With `keep_database`, the database copy is left in that folder."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(_("Archive introuvable : %(path)s") % {"path": archive})
    try:
        with tarfile.open(archive, _tar_mode(archive, writing=False)) as tar:
            manifest = _read_manifest(tar)
            expected = manifest["members"]
            engine = manifest["database"]["engine"]
            db_member = manifest["database"]["member"]
            problems, seen = [], set()
            with tempfile.TemporaryDirectory(prefix=".garant-verify-") as scratch:
                db_copy = Path(keep_database or scratch) / PurePosixPath(db_member).name
                for member in tar:
                    if member.name == MANIFEST:
                        continue
                    _safe_name(member.name)
                    if not member.isfile() or member.name not in expected:
                        problems.append(_("membre inattendu : %(name)s") % {"name": member.name})
                        continue
                    seen.add(member.name)
                    source = tar.extractfile(member)
                    digest = hashlib.sha256()
                    with contextlib.ExitStack() as stack:
                        out = (
                            stack.enter_context(open(db_copy, "wb"))
                            if member.name == db_member
                            else None
                        )
                        while block := source.read(CHUNK):
                            digest.update(block)
                            if out is not None:
                                out.write(block)
                    want = expected[member.name]
                    if digest.hexdigest() != want["sha256"] or member.size != want["size"]:
                        problems.append(
                            _("%(name)s modifié : son empreinte SHA-256 ne correspond plus")
                            % {"name": member.name}
                        )
                for name in sorted(set(expected) - seen):
                    problems.append(_("membre manquant : %(name)s") % {"name": name})
                problems += _delta_problems(manifest)
                if problems:
                    shown = "; ".join(problems[:5])
                    more = len(problems) - 5
                    if more > 0:
                        shown += _(" (et %(n)s autre(s))") % {"n": more}
                    raise BackupError(_("Archive altérée : %(problems)s") % {"problems": shown})
                if engine == "sqlite":
                    _check_sqlite(db_copy, manifest)
                else:
                    _check_pgdump(db_copy)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(
            _("Archive illisible ou tronquée : %(error)s") % {"error": error}
        ) from None
    return manifest


# --- restore -----------------------------------------------------------------------------


def _occupied() -> list[str]:
    """What already holds data where the archive would be restored."""
    found = []
    with connections["default"].cursor() as cursor:
        tables = connections["default"].introspection.table_names(cursor)
    if tables:
        found.append(_("la base de données contient déjà %(n)s table(s)") % {"n": len(tables)})
    for label, folder in (
        (_("le dossier des fichiers déposés %(path)s n'est pas vide"), Path(settings.MEDIA_ROOT)),
        (_("le dossier de suivi %(path)s n'est pas vide"), Path(settings.GARANT_MONITORING_DIR)),
    ):
        if folder.is_dir() and any(p.is_file() for p in folder.rglob("*")):
            found.append(label % {"path": folder})
    return found


def _set_aside(path: Path, stamp: str) -> Path | None:
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.avant-restauration-{stamp}")
    try:
        path.rename(aside)
    except OSError as error:
        raise BackupError(
            _("Impossible de mettre %(path)s de côté (%(error)s) : videz-le puis relancez.")
            % {"path": path, "error": error}
        ) from None
    return aside


def _check_migrations(manifest: dict) -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    unknown = sorted(
        f"{app}.{name}"
        for app, name in manifest["migrations"]
        if app in loader.migrated_apps and (app, name) not in loader.disk_migrations
    )
    if unknown:
        raise BackupError(
            _(
                "Cette archive vient d'une version plus récente de Garant (%(version)s) : "
                "migrations inconnues de cette version : %(names)s. Installez au moins la "
                "version %(version)s avant de restaurer."
            )
            % {"version": manifest["garant_version"], "names": ", ".join(unknown[:5])}
        )


def pending_migrations(alias: str = "default") -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def _restore_database(engine: str, dump: Path, force: bool, stamp: str) -> None:
    connections.close_all()
    target = connections["default"].settings_dict
    if engine == "sqlite":
        path = Path(target["NAME"])
        if force:
            for suffix in ("", "-wal", "-shm"):
                _set_aside(Path(f"{path}{suffix}"), stamp)
        else:  # an empty file (no table) opened by the check: replaced
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.restauration")
        shutil.copyfile(dump, temporary)
        os.replace(temporary, path)
        return
    conninfo, env = _pg_connection(target)
    command = [
        _pg_command("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--no-password",
        "--dbname",
        conninfo,
    ]
    if force:
        command += ["--clean", "--if-exists"]
    _run([*command, str(dump)], env, "pg_restore")


def _extract_tree(archive: Path, manifest: dict) -> dict[str, int]:
    """Write the files and monitoring members to MEDIA_ROOT and GARANT_MONITORING_DIR,
    hashing them again as they are written."""
    roots = {FILES: Path(settings.MEDIA_ROOT), MONITORING: Path(settings.GARANT_MONITORING_DIR)}
    written = {FILES: 0, MONITORING: 0}
    with tarfile.open(archive, _tar_mode(archive, writing=False)) as tar:
        for member in tar:
            path = _safe_name(member.name)
            top = path.parts[0]
            if top not in roots or not member.isfile():
                continue
            target = roots[top].joinpath(*path.parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            source = tar.extractfile(member)
            with open(target, "wb") as out:
                while block := source.read(CHUNK):
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != manifest["members"][member.name]["sha256"]:
                raise BackupError(
                    _("%(name)s modifié pendant la restauration") % {"name": member.name}
                )
            os.utime(target, (member.mtime, member.mtime))
            written[top] += 1
    return written


@dataclass
class Restored:
    manifest: dict
    tables: int
    rows: int
    files: int
    monitoring_files: int
    audit_message: str
    pending: list[str]
    tables_uri: str | None
    set_aside: list[Path]


def restore(archive: str | Path, force: bool = False) -> Restored:
    """Restore `archive` into the configured installation (database, MEDIA_ROOT,
    GARANT_MONITORING_DIR), which must be empty unless `force` (what is there is then set
    aside, or dropped from the PostgreSQL base). Then compare the row counts and the audit
    heads with the manifest and verify the audit chain; records a ``core.restore`` event."""
    from garant.core.audit import audit_context, record_event
    from garant.core.audit import verify as verify_audit

    archive = Path(archive).resolve()
    engine = _engine()
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory(prefix=".garant-restore-") as scratch:
        manifest = verify(archive, keep_database=Path(scratch))
        if manifest["database"]["engine"] != engine:
            raise BackupError(
                _(
                    "L'archive est une base %(archived)s et l'installation cible utilise "
                    "%(target)s : restaurez sur le même moteur (DATABASE_URL)."
                )
                % {"archived": manifest["database"]["engine"], "target": engine}
            )
        _check_migrations(manifest)
        occupied = _occupied()
        if occupied and not force:
            raise BackupError(
                _(
                    "Restauration refusée : la cible n'est pas vide (%(what)s). Restaurez dans "
                    "une installation vide (GARANT_DATA_DIR, DATABASE_URL), ou ajoutez --force "
                    "pour la remplacer."
                )
                % {"what": " ; ".join(occupied)}
            )
        aside = []
        if force:
            for folder in (Path(settings.MEDIA_ROOT), Path(settings.GARANT_MONITORING_DIR)):
                if moved := _set_aside(folder, stamp):
                    aside.append(moved)
        dump = Path(scratch) / PurePosixPath(manifest["database"]["member"]).name
        _restore_database(engine, dump, force, stamp)
    written = _extract_tree(archive, manifest)
    connections.close_all()
    now = contents()
    if now.row_counts != manifest["row_counts"]:
        different = sorted(
            t
            for t in set(now.row_counts) | set(manifest["row_counts"])
            if now.row_counts.get(t) != manifest["row_counts"].get(t)
        )
        raise BackupError(
            _("Nombres de lignes restaurés différents du manifeste : %(tables)s")
            % {"tables": ", ".join(different[:10])}
        )
    checked = verify_audit()
    if not checked.ok:
        raise BackupError(
            _("La piste d'audit restaurée ne se vérifie pas : %(message)s")
            % {"message": checked.message}
        )
    if now.audit_heads != manifest["audit_heads"]:
        raise BackupError(_("La tête de la chaîne d'audit n'est pas celle du manifeste."))
    with audit_context(source="command"):
        record_event(
            "core.restore",
            _("Restauration de %(name)s") % {"name": archive.name},
            {
                "archive": [None, str(archive)],
                "sha256": [None, _sha256_file(archive)],
                "backup_created_at": [None, manifest["created_at"]],
                "garant_version": [None, manifest["garant_version"]],
                "rows": [None, sum(now.row_counts.values())],
            },
        )
    return Restored(
        manifest=manifest,
        tables=len(now.row_counts),
        rows=sum(now.row_counts.values()),
        files=written[FILES],
        monitoring_files=written[MONITORING],
        audit_message=checked.message,
        pending=pending_migrations(),
        tables_uri=manifest["monitoring"].get("tables_uri"),
        set_aside=aside,
    )


# --- what the commands print -------------------------------------------------------------------


def contents_summary(manifest: dict) -> str:
    """One line: what an archive holds, from its manifest."""
    rows = sum(manifest["row_counts"].values())
    return _(
        "base %(engine)s : %(tables)s tables, %(rows)s lignes ; %(files)s fichier(s) "
        "déposé(s) ; %(delta)s table(s) de suivi"
    ) % {
        "engine": manifest["database"]["engine"],
        "tables": len(manifest["row_counts"]),
        "rows": number_format(rows, force_grouping=True),
        "files": manifest["files"]["count"],
        "delta": len(manifest["monitoring"]["tables"]),
    }


def verification_summary(manifest: dict) -> str:
    """What `garant backup --verify` and `garant restore --verify-only` print for a sound
    archive."""
    return "\n".join(
        [
            _("OK : archive intacte, %(n)s membres vérifiés, base lisible")
            % {"n": len(manifest["members"])},
            "  "
            + _("sauvegarde du %(at)s, Garant %(version)s")
            % {"at": when(manifest), "version": manifest["garant_version"]},
            "  " + contents_summary(manifest),
        ]
    )
