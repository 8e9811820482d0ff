"""`garant restore ARCHIVE [--force]`: restore a `garant backup` archive into this (empty)
installation, then check it; `--verify-only` only checks the archive (see operations/backup.py)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from garant.operations import backup


class Command(BaseCommand):
    help = (
        "Restauration d'une archive de « garant backup » dans une installation vide "
        "(GARANT_DATA_DIR, DATABASE_URL), puis contrôle : nombres de lignes, piste d'audit, "
        "migrations."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="archive écrite par « garant backup »")
        parser.add_argument(
            "--force",
            action="store_true",
            help="remplacer une installation qui contient déjà des données (mises de côté)",
        )
        parser.add_argument(
            "--verify-only", action="store_true", help="vérifier l'archive sans rien restaurer"
        )

    def handle(self, *args, archive, force=False, verify_only=False, **options):
        try:
            if verify_only:
                manifest = backup.verify(archive)
                self.stdout.write(backup.verification_summary(manifest))
                return
            done = backup.restore(archive, force=force)
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        except OSError as error:  # a folder not writable, a disk full…
            raise CommandError(_("Erreur de fichier : %(error)s") % {"error": error}) from None
        manifest = done.manifest
        self.stdout.write(
            _("Restauration terminée : sauvegarde du %(at)s (Garant %(version)s, base %(engine)s)")
            % {
                "at": backup.when(manifest),
                "version": manifest["garant_version"],
                "engine": manifest["database"]["engine"],
            }
        )
        self.stdout.write(
            "  "
            + _("base : %(tables)s tables, %(rows)s lignes, comme dans le manifeste")
            % {"tables": done.tables, "rows": number_format(done.rows, force_grouping=True)}
        )
        self.stdout.write(
            "  "
            + _("%(files)s fichier(s) déposé(s), %(monitoring)s fichier(s) de suivi")
            % {"files": done.files, "monitoring": done.monitoring_files}
        )
        self.stdout.write("  " + _("piste d'audit : %(message)s") % {"message": done.audit_message})
        if done.pending:
            self.stdout.write(
                "  "
                + _("migrations : %(n)s à appliquer : lancez « garant migrate »")
                % {"n": len(done.pending)}
            )
        else:
            self.stdout.write("  " + _("migrations : à jour"))
        for path in done.set_aside:
            self.stdout.write("  " + _("ancien contenu mis de côté : %(path)s") % {"path": path})
        if done.tables_uri:
            self.stderr.write(
                _(
                    "Attention : les tables de suivi (%(uri)s) ne sont pas dans l'archive : "
                    "restaurez-les depuis les versions de ce stockage, à la date de la "
                    "sauvegarde."
                )
                % {"uri": done.tables_uri}
            )
