"""No raw data shown to people: every page, as every demo role, read as a person reads it.

The pages are those of tests/test_tenancy_generated.py (read from the site, their URL
parameters named in its `PAGE_ARGS`), filled with records of the demo's CHU de Valmont that
the role may see. The visible text of each HTML page (no tags, attributes, scripts or styles)
must hold none of what a program prints for itself: `None`, ISO dates and timestamps, Python
reprs, decimals with a dot or with trailing zeros (in French), establishment codes, and the
snake_case names of fields and choice values where their label belongs.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.apps import apps
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import translation

import garant
from garant.compliance.models import Evidence, Obligation, Qualification
from garant.compliance.rules import rulebook
from garant.core.audit import audit_context
from garant.core.models import Establishment, EstablishmentGroup, Membership, Service, User
from garant.core.numbers import money, number
from garant.core.referentials import _vocabularies
from garant.core.tenancy import tenant_filter
from garant.governance.models import (
    Action,
    AgendaItem,
    Committee,
    CommitteeMember,
    Decision,
    EthicsRecommendation,
    EthicsReferral,
    Meeting,
    ReviewCampaign,
    ReviewCase,
)
from garant.incidents.models import Incident, RegulatoryReport
from garant.lifecycle.models import (
    Assessment,
    Idea,
    Indicator,
    IndicatorValue,
    Notification,
    Project,
)
from garant.monitoring.models import Alert, AlertRule, Feed
from garant.oversight.models import OversightAlert, OversightRule, Suspension
from garant.patients.models import ErasureRun, InformationChannel, Objection, RightsRequest
from garant.people.models import Habilitation, Person, TrainingModule
from garant.registry.models import AISystem, AISystemVersion, Declaration, Vendor
from garant.risks.models import FailureMode, RiskAnalysis
from tests.test_tenancy_generated import PAGE_ARGS, PAGES, VALUE_OF_ROUTE, VALUES

ESTABLISHMENT = "valmont"
REFERENTIALS = Path(garant.__file__).parent / "referentials"

# demo role -> the user who holds it (garant/demo/demo.yaml)
ROLES = {
    "admin": "admin.valmont",
    "referent": "referent.valmont",
    "committee": "comite.valmont",
    "dpo": "dpo.valmont",
    "contributor": "terrain.valmont",
    "auditor": "auditeur.valmont",
    "direction.gcs": "direction.gcs",
    "superuser": "admin",
}

# kind of record named in PAGE_ARGS -> its model, and the order that puts the record with the
# most to show first (a system with feeds, a project with assessments...)
KINDS = {
    "establishment": (Establishment, None),
    "service": (Service, None),
    "membership": (Membership, None),
    "vendor": (Vendor, Count("ai_systems")),
    "system": (AISystem, Count("feeds")),
    "version": (AISystemVersion, None),
    "feed": (Feed, Count("alerts")),
    "rule": (AlertRule, Count("alerts")),
    "alert": (Alert, None),
    "qualification": (Qualification, None),
    "obligation": (Obligation, Count("evidence")),
    "evidence": (Evidence, None),
    "idea": (Idea, None),
    "notification": (Notification, None),
    "project": (Project, Count("assessments")),
    "indicator": (Indicator, Count("values")),
    "indicator_value": (IndicatorValue, None),
    "declaration": (Declaration, None),
    "oversight_rule": (OversightRule, Count("alerts")),
    "oversight_alert": (OversightAlert, None),
    "suspension": (Suspension, None),
    "incident": (Incident, Count("reports")),
    "regulatory_report": (RegulatoryReport, None),
    "review_campaign": (ReviewCampaign, Count("cases")),
    "review_case": (ReviewCase, Count("reviews")),
    "assessment": (Assessment, None),
    "committee": (Committee, Count("meetings")),
    "member": (CommitteeMember, None),
    "meeting": (Meeting, Count("decisions")),
    "agenda_item": (AgendaItem, None),
    "decision": (Decision, None),
    "action": (Action, None),
    "ethics_referral": (EthicsReferral, Count("recommendations")),
    "ethics_recommendation": (EthicsRecommendation, None),
    "analysis": (RiskAnalysis, Count("failure_modes")),
    "failure_mode": (FailureMode, None),
    "module": (TrainingModule, None),
    "person": (Person, Count("trainings")),
    "habilitation": (Habilitation, None),
    "information_channel": (InformationChannel, None),
    "rights_request": (RightsRequest, Count("steps")),
    "group": (EstablishmentGroup, None),
    "objection": (Objection, None),
    "erasure_run": (ErasureRun, None),
}

# pages where a kind of finding is what a person came to read: an establishment's code is a
# field of the establishments' own pages, labelled "Code";
ALLOWED = {
    "establishment_list": ("establishment code",),
    "establishment_detail": ("establishment code",),
    # the import page documents the file: the codes a cell may hold are its subject
    "registry:system_import": ("taxonomy code", "field name or code"),
    # the feed form explains how the timestamps of the feed's data are read
    "monitoring:system_feeds": ("ISO timestamp", "ISO date"),
}

# the same, in English: "None" is an answer of the referential's English questions
ALLOWED_IN_ENGLISH = {"compliance:qualification": ("None",)}

# pages that fail only because of work another helper is doing, until both are merged
PENDING: dict[str, str] = {}


# --- the visible text of a page -------------------------------------------------------------


class _Text(HTMLParser):
    """The text a person reads: no tags, attributes, scripts, styles or templates; an
    abbreviation with a title (`<abbr title="Acquisition d'une solution">S1</abbr>`) reads
    as its title, which is at hand."""

    HIDDEN = {"script", "style", "template"}
    BREAKS = {"br", "p", "li", "td", "th", "tr", "div", "option", "h1", "h2", "h3", "dt", "dd"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.abbrs: list[bool] = []  # for each open <abbr>: does it hide its text?

    def handle_starttag(self, tag, attrs):
        title = dict(attrs).get("title")
        if tag == "abbr":
            self.abbrs.append(bool(title))
            if title:
                self.parts.append(f" {title} ")
                self.hidden += 1
        elif tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "abbr":
            if self.abbrs and self.abbrs.pop():
                self.hidden = max(0, self.hidden - 1)
        elif tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        else:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))


# --- what a program prints for itself -------------------------------------------------------

COMMON = {
    "None": re.compile(r"(?<![\w-])None(?![\w-])"),
    "ISO timestamp": re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"),
    "ISO date": re.compile(r"(?<![\w./-])\d{4}-\d{2}-\d{2}(?![\w/-])"),
    "Python repr": re.compile(
        r"\{'[^']*': |\{\"[^\"]*\": |\['[^']*'(, '[^']*')*\]|object at 0x|Decimal\(|datetime\."
        r"|<QuerySet|<[A-Z]\w+: [^>]*>"
        r"|(?<![\w-])(True|False)(?![\w-]| [a-z])"  # not "False positive rate"
    ),
}
FRENCH = {
    # not a reference such as "critère 3.4-06" (HAS) or a version (checked apart)
    "decimal with a dot": re.compile(r"(?<![\w.,])\d+\.\d+(?![\w.-])"),
    # 4,5000 or 0,8000: a fixed precision of 3 decimals (0,390) reads well in a column
    "trailing zeros": re.compile(r"(?<![\w.,])\d+,\d{2,}00(?!\d)"),
}


def vocabulary() -> dict:
    """What the checks know of Garant: the codes a person should never read (the demo's
    establishment codes, the taxonomy's codes, the snake_case names of model fields and
    choice values: a label belongs in their place) and the version numbers they may read
    (a model's "1.0", a referential's "2026.2")."""
    establishments = set(Establishment.objects.unrestricted().values_list("code", flat=True))
    words = set()
    for config in apps.get_app_configs():
        if not config.name.startswith("garant"):
            continue
        for model in config.get_models():
            words.add(model._meta.label_lower)  # "registry.aisystem", the audit's object type
            for field in model._meta.get_fields():
                if "_" in field.name.strip("_"):
                    words.add(field.name)
                for value, _label in getattr(field, "flatchoices", None) or ():
                    if isinstance(value, str) and "_" in value.strip("_"):
                        words.add(value)
    # the column names of the hospitals' prediction files are their data, shown on purpose on
    # a feed's page and in its history (« colonne identifiant de prédiction : prediction_id »)
    for feed in Feed.objects.unrestricted():
        for field in feed._meta.get_fields():
            if field.name.endswith("_column"):
                words.discard(getattr(feed, field.name))
            elif field.name.endswith("_columns"):
                words -= set(getattr(feed, field.name))
    codes = set()
    for vocab in _vocabularies().values():
        for code in vocab.items:
            if re.fullmatch(r"[A-Z]+[0-9]+", code):
                codes.add(code)
            elif "_" in code:
                words.add(code)
    for path in (REFERENTIALS / "regulatory").glob("*.yaml"):  # obligation codes
        words |= {code for code in rulebook(path.stem).obligations if "_" in code}
    versions = {path.stem for path in REFERENTIALS.rglob("*.yaml")}
    versions |= set(AISystemVersion.objects.unrestricted().values_list("version", flat=True))
    return {
        "establishment code": _words(establishments),
        "field name or code": _words(words),
        # "S1 — Acquisition d'une solution du marché" names its code: fine
        "taxonomy code": re.compile(rf"{_words(codes).pattern}(?!\s*[—–:])"),
        "versions": frozenset(versions),
    }


def _words(words) -> re.Pattern:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w.@/:-])({alternatives})(?![\w.@/-])")


def findings(text: str, language: str, known: dict, allowed=()) -> list[str]:
    """What `text` shows that a program printed for itself; `allowed`: kinds of finding this
    page may show (an establishment's code on the establishments' own pages)."""
    checks = dict(COMMON)
    if language == "fr":
        checks |= FRENCH | {k: v for k, v in known.items() if k != "versions"}
    found = []
    for what, pattern in checks.items():
        if what in allowed:
            continue
        for match in pattern.finditer(text):
            if what == "decimal with a dot" and match.group(0) in known["versions"]:
                continue
            start, end = match.span()
            around = text[max(0, start - 40) : end + 40].replace("\n", " ")
            found.append(f"{what}: {match.group(0)!r} in «{around.strip()}»")
    return found


# --- the pages, filled with the demo's records ----------------------------------------------


def _records(kind: str, user, establishment, limit: int = 1) -> list:
    """The `limit` records of `kind` with the most to show that `user` may see in Valmont
    (else in another CHU of the demo; else any: the page then shows its refusal)."""
    if kind == "user":
        return [User.objects.get(username="referent.valmont")]
    assert kind in KINDS, f"add the kind {kind!r} of PAGE_ARGS to KINDS in {__name__}"
    model, richest = KINDS[kind]
    every = model.objects.unrestricted()
    visible = every.filter(pk__in=model.objects.restrict(user, "view").values("pk"))
    if kind == "notification":
        visible = visible.filter(user=user)
    valmont = every.filter(tenant_filter(model, {establishment.pk}))
    for mine in (valmont & visible, visible, valmont, every):
        if mine.exists():
            break
    mine = mine.order_by("pk")
    if richest is not None:
        mine = mine.annotate(richness=richest).order_by("-richness", "pk")
    return list(mine[:limit])  # empty: no page to fill (the demo sends no notification)


def _urls(user, establishment, limit: int = 1) -> list[tuple[str, str]]:
    """(page name, URL) of every page, filled with the first record of each kind; with
    `limit` > 1, also with the next records, for the pages of one record."""
    urls = []
    for name, params in PAGES:
        if name in ("logout", "set_language", "sso:start", "sso:callback"):
            continue
        kinds = PAGE_ARGS.get(name, ()) if params else ()
        choices = []
        for kind in kinds:
            if kind in VALUES:
                choices.append([VALUE_OF_ROUTE.get((name, kind), VALUES[kind])])
            elif kind == "establishment":
                choices.append([establishment.pk])
            else:
                n = limit if len(kinds) == 1 else 1
                choices.append([r.pk for r in _records(kind, user, establishment, n)])
        if all(choices):
            first = [c[0] for c in choices]
            urls.append((name, reverse(name, args=first)))
            if len(choices) == 1:
                urls += [(name, reverse(name, args=[pk])) for pk in choices[0][1:]]
    return urls


def allowed(name: str, language: str) -> tuple[str, ...]:
    extra = ALLOWED_IN_ENGLISH.get(name, ()) if language == "en" else ()
    return (*ALLOWED.get(name, ()), *extra)


@pytest.fixture
def walk(demo):
    establishment = Establishment.objects.unrestricted().get(code=ESTABLISHMENT)
    with audit_context(source="test"):  # the demo has no idea yet: a field worker's
        Idea.objects.create(
            establishment=establishment,
            author=User.objects.get(username=ROLES["contributor"]),
            title="Prioriser les appels de nuit",
            need="Trop d'appels non régulés la nuit",
            service=Service.objects.unrestricted().filter(establishment=establishment).first(),
            expected_benefit=Idea.Benefit.BOTH,
        )
    known = vocabulary()

    def _walk(role: str, language: str, limit: int = 1) -> list[str]:
        user = User.objects.get(username=ROLES[role])
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(user)
        client.cookies["django_language"] = language
        wrong = []
        for name, url in _urls(user, establishment, limit):
            if name in PENDING:
                continue
            response = client.get(url)
            if response.status_code >= 500:
                wrong.append(f"{url}: {response.status_code}")
                continue
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            text = visible_text(response.content.decode())
            wrong += [
                f"{url}: {f}" for f in findings(text, language, known, allowed(name, language))
            ]
        translation.activate("fr")
        return wrong

    return _walk


@pytest.mark.parametrize("role", list(ROLES))
def test_no_raw_data_in_french(walk, role):
    wrong = walk(role, "fr")
    assert not wrong, "\n".join(wrong)


def test_no_raw_data_on_the_pages_of_every_record(walk):
    """The referent's pages of each record (up to a few of each kind), not only the first."""
    wrong = walk("referent", "fr", limit=4)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ["referent", "direction.gcs"])
def test_no_raw_data_in_english(walk, role):
    wrong = walk(role, "en")
    assert not wrong, "\n".join(wrong)


def test_the_checks_catch_raw_data():
    """Each check finds what it is for, and lets French text through."""
    known = {
        "establishment code": _words(["valmont"]),
        "field name or code": _words(["intended_purpose", "on_premises"]),
        "taxonomy code": re.compile(rf"{_words(['S1']).pattern}(?!\s*[—–:])"),
        "versions": frozenset({"1.2", "2026.2"}),
    }
    raw = [
        "Statut : None",
        "le 2026-03-01T10:00:00+00:00",
        "le 2026-03-01 12:00:00+00:00",
        "échéance 2026-03-01.",
        "{'phase': 'pilot'}",
        "['a', 'b']",
        "<Feed object at 0x7f>",
        "Decimal('4.5')",
        "AUC 0.8234",
        "Budget 45000.00 €",
        "note 4,5000",
        "Copil IA (valmont)",
        "champ intended_purpose",
        "hébergement on_premises",
        "Type : S1 · D2",
    ]
    for text in raw:
        assert findings(text, "fr", known), text
    fine = (
        "Le 03/02/2026 à 14:05, Thomas Girardin a modifié le statut : « pilote » → "
        "« production » ; AUC 0,82 [0,790 ; 0,850] ; 18 000 € ; CHU de Valmont ; "
        "thomas.girardin@chu-valmont.example.org ; version 1.2 ; référentiel 2026.2 ; "
        "critère HAS 3.4-06 ; 4,50 € ; S1 — Acquisition d'une solution du marché"
    )
    assert findings(fine, "fr", known) == []
    assert findings("AUC 0.82", "en", known) == []  # English decimals take a dot


def test_numbers_follow_the_language():
    assert number(Decimal("4.5000")) == "4,5"
    assert number(18000) == "18\u202f000"
    assert number(0.82345, 3) == "0,823"
    assert number(None) == "" and number("n/a") == "n/a"
    assert money(18000) == "18\u202f000\u00a0€"
    assert money(Decimal("4.5")) == "4,50\u00a0€"
    with translation.override("en"):
        assert number(Decimal("4.5000")) == "4.5"
        assert money(18000) == "18,000\u00a0€"


def test_the_dashboard_gives_its_report_as_a_download(demo, client_for):
    """The standalone report is a link on the dashboard, not a command to type."""
    feed = Feed.objects.unrestricted().annotate(n=Count("alerts")).order_by("-n", "pk").first()
    client = client_for(User.objects.get(username=ROLES["referent"]))
    page = client.get(reverse("monitoring:dashboard", args=[feed.pk])).content.decode()
    assert "garant monitor" not in visible_text(page)
    link = re.search(r'href="(\?[^"]*document=html[^"]*)"', page)
    assert link, "no download link on the dashboard"
    query = link.group(1).replace("&amp;", "&")
    response = client.get(reverse("monitoring:dashboard", args=[feed.pk]) + query)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="rapport-')
    assert response.content.decode().lstrip().lower().startswith("<!doctype html")
