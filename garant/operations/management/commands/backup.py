"""`garant backup ARCHIVE`: database, uploaded files and monitoring in one archive, checked
once written; `garant backup --verify ARCHIVE` checks an existing one (see operations/backup.py)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from garant.operations import backup


class Command(BaseCommand):
    help = (
        "Sauvegarde : la base de données, les fichiers déposés et les tables et l'état du "
        "suivi dans une archive (.tar ou .tar.gz) avec son manifeste ; --verify vérifie une "
        "archive existante."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="archive à écrire (ou à vérifier avec --verify)")
        parser.add_argument(
            "--verify",
            action="store_true",
            help="vérifier l'archive (empreintes, base lisible) sans rien sauvegarder",
        )
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="ne pas relire l'archive une fois écrite",
        )

    def handle(self, *args, archive, verify=False, no_verify=False, **options):
        try:
            if verify:
                manifest = backup.verify(archive)
                self.stdout.write(backup.verification_summary(manifest))
                return
            written = backup.create(archive)
            if not no_verify:
                backup.verify(written.path)
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        except OSError as error:  # a folder not writable, a disk full…
            raise CommandError(_("Erreur de fichier : %(error)s") % {"error": error}) from None
        manifest = written.manifest
        self.stdout.write(
            _("Sauvegarde écrite : %(path)s (%(size)s octets)")
            % {"path": written.path, "size": number_format(written.size, force_grouping=True)}
        )
        self.stdout.write(f"  SHA-256 : {written.sha256}")
        self.stdout.write("  " + backup.contents_summary(manifest))
        if not no_verify:
            self.stdout.write("  " + _("archive relue et vérifiée"))
        if manifest["monitoring"]["tables_uri"]:
            self.stderr.write(
                _(
                    "Attention : les tables de suivi sont dans %(uri)s et ne sont pas dans "
                    "l'archive ; elles relèvent de la sauvegarde de ce stockage."
                )
                % {"uri": manifest["monitoring"]["tables_uri"]}
            )
        if manifest["missing_files"]:
            self.stderr.write(
                _("Attention : %(n)s fichier(s) cité(s) par la base absent(s) : %(names)s")
                % {
                    "n": len(manifest["missing_files"]),
                    "names": ", ".join(manifest["missing_files"][:5]),
                }
            )
