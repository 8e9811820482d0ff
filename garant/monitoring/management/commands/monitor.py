"""`garant monitor ingest --feed SYSTEM/SLUG --kind predictions|outcomes FILE [--user NAME]`
(`--format fhir FILE.json`: a FHIR R4 Bundle, kind deduced),
`garant monitor erase --feed SYSTEM/SLUG --patient ID` (consent withdrawn) and
`garant monitor evaluate [--feed SYSTEM/SLUG …] [--date YYYY-MM-DD]` (alert rules, scheduled)
`garant monitor state [--feed SYSTEM/SLUG …] [--rebuild]` (the counts every page reads) and
`garant monitor report --feed SYSTEM/SLUG --from DATE --to DATE [--format json|html]
[--by day|week|month] [--threshold T] [--output FILE]`."""

import datetime as dt
import json
import math
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from garant.core.audit import audit_context
from garant.core.models import User
from garant.monitoring import alerts, dashboard, ingest, report, storage
from garant.monitoring.alert_forms import DriftReferenceForm
from garant.monitoring.models import Alert, Feed, IngestBatch


class Command(BaseCommand):
    help = (
        "Suivi : « ingest » charge un fichier Parquet, CSV ou FHIR dans un flux, « erase » "
        "efface un patient, « evaluate » évalue les règles d'alerte, « reference » choisit la "
        "référence de la dérive."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("ingest", help="charger un fichier de prédictions ou d'issues")
        load.add_argument("--feed", required=True, help="flux : <id du système>/<slug>")
        load.add_argument(
            "--kind",
            choices=IngestBatch.Kind.values,
            help="obligatoire sauf en FHIR (déduite des ressources du Bundle)",
        )
        load.add_argument(
            "--format",
            dest="fmt",
            choices=["parquet", "csv", "fhir"],
            default=None,
            help="par défaut : l'extension du fichier (.json = Bundle FHIR R4)",
        )
        load.add_argument("--user", default=None, help="utilisateur à qui attribuer le lot")
        load.add_argument("file", help="fichier .parquet, .csv ou Bundle FHIR .json")
        erase = sub.add_parser(
            "erase", help="effacer les lignes d'un patient (retrait du consentement)"
        )
        erase.add_argument("--feed", required=True, help="flux : <id du système>/<slug>")
        erase.add_argument("--patient", required=True, help="identifiant pseudonyme du patient")
        erase.add_argument("--user", default=None, help="utilisateur à qui attribuer l'effacement")
        evaluate = sub.add_parser(
            "evaluate", help="évaluer les règles d'alerte (planification : cron, chaque nuit)"
        )
        evaluate.add_argument(
            "--feed", action="append", default=None, help="flux : <id du système>/<slug> (tous)"
        )
        evaluate.add_argument("--date", default=None, help="évaluer au AAAA-MM-JJ (aujourd'hui)")
        reference = sub.add_parser(
            "reference",
            help="choisir la référence de la dérive d'un flux : glissante ou période fixe",
        )
        reference.add_argument("--feed", required=True, help="flux : <id du système>/<slug>")
        mode = reference.add_mutually_exclusive_group(required=True)
        mode.add_argument(
            "--rolling", action="store_true", help="les jours qui précèdent la fenêtre"
        )
        mode.add_argument(
            "--fixed", action="store_true", help="la période --from / --to (ex. la validation)"
        )
        reference.add_argument("--from", dest="start", default=None, help="AAAA-MM-JJ (--fixed)")
        reference.add_argument("--to", dest="end", default=None, help="AAAA-MM-JJ (--fixed)")
        reference.add_argument("--user", default=None, help="utilisateur à qui l'attribuer")
        state = sub.add_parser(
            "state", help="mettre à jour (ou reconstruire) l'état de suivi des flux"
        )
        state.add_argument(
            "--feed", action="append", default=None, help="flux : <id du système>/<slug> (tous)"
        )
        state.add_argument(
            "--rebuild", action="store_true", help="tout recompter depuis les tables Delta"
        )
        summary = sub.add_parser(
            "report", help="rapport de suivi d'une période (JSON, ou HTML autonome comme preuve)"
        )
        summary.add_argument("--feed", required=True, help="flux : <id du système>/<slug>")
        summary.add_argument("--from", dest="start", required=True, help="premier jour, AAAA-MM-JJ")
        summary.add_argument(
            "--to", dest="end", required=True, help="dernier jour (inclus), AAAA-MM-JJ"
        )
        summary.add_argument(
            "--format", dest="report_format", choices=["json", "html"], default="json"
        )
        summary.add_argument(
            "--by", choices=["day", "week", "month"], default="week", help="granularité des séries"
        )
        summary.add_argument(
            "--threshold",
            default=None,
            help="seuil de décision entre 0 et 1 pour ce rapport (défaut : celui du flux)",
        )
        summary.add_argument("--output", default=None, help="fichier à écrire (sinon la sortie)")

    def handle(self, *args, action, user=None, **options):
        owner = self._user(user)
        with audit_context(user=owner, source="command"):
            getattr(self, f"do_{action}")(owner=owner, **options)

    def _user(self, username):
        if username is None:
            return None
        try:
            return User.objects.get(username=username, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"Utilisateur inconnu ou désactivé : {username!r}") from None

    def _feed(self, reference: str) -> Feed:
        system_id, _, slug = reference.partition("/")
        feed = (
            Feed.objects.filter(ai_system_id=system_id, slug=slug).first()
            if system_id.isdigit()
            else None
        )
        if feed is None:
            raise CommandError(f"Flux inconnu : {reference!r} (attendu : <id du système>/<slug>)")
        return feed

    def do_ingest(self, owner, feed, kind, file, fmt=None, **_):
        feed = self._feed(feed)
        fhir = ingest.is_fhir(file, fmt)
        if not fhir and kind is None:
            raise CommandError("--kind predictions|outcomes est obligatoire (sauf --format fhir)")
        shown = [-1]

        def progress(fraction):
            percent = int(fraction * 100)
            if percent != shown[0]:
                shown[0] = percent
                self.stderr.write(f"\rlecture : {percent} %", ending="")

        def end_progress_line():
            if shown[0] >= 0:
                self.stderr.write("")
                shown[0] = -1

        try:
            if fhir:
                kind, table = ingest.read_fhir(feed, Path(file))
            else:
                table = ingest.read_file(file, fmt, progress=progress)
                end_progress_line()
            batch = ingest.ingest(feed, kind, table, IngestBatch.Source.CLI, owner)
        except FileNotFoundError:
            raise CommandError(f"Fichier introuvable : {file}") from None
        except ingest.BatchRefused as refused:
            end_progress_line()
            self.stderr.write(f"Fichier « {file} » refusé :")
            for error in refused.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"Lot refusé ({refused.total} erreur(s)) : rien n'a été enregistré."
            ) from None
        except ingest.AlreadyReceived as duplicate:
            self.stdout.write(str(duplicate))
            return
        self.stdout.write(f"{batch.rows} lignes enregistrées dans {feed} (lot n° {batch.pk}).")
        if batch.dropped_rows:
            self.stdout.write(
                f"{batch.dropped_rows} lignes écartées : patients opposés à l'évaluation."
            )

    def do_erase(self, owner, feed, patient, **_):
        feed = self._feed(feed)
        removed = storage.erase_patient(feed, patient)
        self.stdout.write(f"{removed} ligne(s) effacée(s) de {feed}.")

    def do_report(
        self,
        owner,
        feed,
        start,
        end,
        report_format,
        by="week",
        threshold=None,
        output=None,
        **options,
    ):
        feed = self._feed(feed)
        days = []
        for option, value in (("--from", start), ("--to", end)):
            try:
                days.append(dt.date.fromisoformat(value))
            except ValueError:
                raise CommandError(
                    _("Date invalide pour %(option)s : %(value)r (attendu : AAAA-MM-JJ).")
                    % {"option": option, "value": value}
                ) from None
        if days[1] < days[0]:
            raise CommandError(
                _("La date de fin (--to) est antérieure à la date de début (--from).")
            )
        if threshold is not None:
            try:
                threshold = float(threshold.replace(",", "."))
            except ValueError:
                threshold = math.nan
            if not 0 <= threshold <= 1:
                raise CommandError(_("--threshold : un seuil entre 0 et 1 est attendu."))
        data = report.build_report(
            feed, days[0], days[1], by=by, threshold=threshold, reference=feed.fixed_reference
        )
        if report_format == "json":
            text = json.dumps(data, ensure_ascii=False, indent=2)
        else:
            text = dashboard.render_standalone(data)
        if output is None:
            self.stdout.write(text)
            return
        with open(output, "w", encoding="utf-8") as target:
            target.write(text + "\n")
        self.stdout.write(_("Rapport écrit dans %(path)s.") % {"path": output})

    def do_reference(self, owner, feed, rolling=False, fixed=False, start=None, end=None, **_):
        """The same form as the feed's page and the API: French errors, nothing saved."""
        feed = self._feed(feed)
        data = {
            "drift_reference": Feed.DriftReference.FIXED if fixed else Feed.DriftReference.ROLLING,
            "reference_start": start,
            "reference_end": end,
        }
        form = DriftReferenceForm(data, instance=feed)
        if not form.is_valid():
            errors = "; ".join(
                f"{field} : {' '.join(messages)}" for field, messages in form.errors.items()
            )
            raise CommandError(f"Référence refusée : {errors}")
        feed = form.save()
        alerts.evaluate_feed(feed)
        if feed.fixed_reference:
            start, end = feed.fixed_reference
            self.stdout.write(
                f"{feed.reference} : référence fixe du {start:%d/%m/%Y} au {end:%d/%m/%Y}."
            )
        else:
            self.stdout.write(f"{feed.reference} : référence glissante.")

    def do_state(self, owner, feed=None, rebuild=False, **_):
        feeds = [self._feed(reference) for reference in feed] if feed else Feed.objects.all()
        for one in feeds:
            counts = storage.rebuild_state(one) if rebuild else storage.sync_state(one)
            histogram = counts.score_histogram()
            total = int(histogram.totals.sum()) + histogram.missing_score
            self.stdout.write(
                f"{one.reference} : {total} prédiction(s) comptée(s), "
                f"{len(counts.info.get('batches', []))} lot(s)."
            )

    def do_evaluate(self, owner, feed=None, date=None, **_):
        try:
            today = dt.date.fromisoformat(date) if date else None
        except ValueError:
            raise CommandError(f"Date invalide : {date!r} (AAAA-MM-JJ attendu)") from None
        feeds = [self._feed(reference) for reference in feed] if feed else Feed.objects.all()
        failed = 0
        for one in feeds:
            try:
                opened = alerts.evaluate_feed(one, today)
            except Exception as exc:  # one feed failing does not stop the others
                failed += 1
                self.stderr.write(f"{one.reference} : échec de l'évaluation ({exc})")
                continue
            state = one.alerts.filter(state=Alert.State.OPEN).count()
            self.stdout.write(
                f"{one.reference} : {len(opened)} alerte(s) ouverte(s) maintenant, {state} en cours."
            )
        if failed:
            raise CommandError(f"{failed} flux n'ont pas pu être évalués.")
