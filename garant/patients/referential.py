"""The `patients` referential (garant/referentials/patients/), validated against its schema at
load (core.referentials), then here: codes unique, every obligation code known to the
regulatory referential in force, every channel evidencing obligations that call for a notice,
one letter per request kind (and one for an extension)."""

from __future__ import annotations

import string
from functools import cache

from django.utils.translation import get_language

from garant.compliance.rules import rulebook
from garant.core.referentials import Referential, ReferentialError, load, localized

KIND = "patients"
EXTENSION_LETTER = "extension"
PLACEHOLDERS = frozenset(
    {"establishment", "reference", "received", "kind", "system", "answer", "deadline", "signatory"}
)


def _codes(referential: Referential, items: list[dict], where: str, key: str = "code") -> set:
    codes = [item[key] for item in items]
    if dupes := sorted({c for c in codes if codes.count(c) > 1}):
        raise ReferentialError(f"{referential.path}: {where}: duplicate codes {dupes}")
    return set(codes)


def check(referential: Referential) -> None:
    """Cross-references the schema cannot express; raises ReferentialError naming the path."""
    data = referential.data
    known = set(rulebook().obligations)
    wanted = _codes(referential, data["notice"]["obligations"], "notice/obligations")
    if unknown := sorted(wanted - known):
        raise ReferentialError(
            f"{referential.path}: notice/obligations: unknown obligation codes {unknown}"
        )
    _codes(referential, data["channels"], "channels")
    for channel in data["channels"]:
        if extra := sorted(set(channel["evidences"]) - wanted):
            raise ReferentialError(
                f"{referential.path}: channels/{channel['code']}: evidences {extra} are not "
                "obligations of notice/obligations"
            )
    _codes(referential, data["public_fields"], "public_fields")
    kinds = _codes(referential, data["requests"]["kinds"], "requests/kinds")
    letters = _codes(referential, data["letters"], "letters", key="kind")
    if missing := sorted((kinds | {EXTENSION_LETTER}) - letters):
        raise ReferentialError(f"{referential.path}: letters: no letter for {missing}")
    for item in data["letters"]:
        for lang in ("fr", "en"):
            for paragraph in item.get(lang, []):
                names = {n for _, n, _, _ in string.Formatter().parse(paragraph) if n}
                if unknown := sorted(names - PLACEHOLDERS):
                    raise ReferentialError(
                        f"{referential.path}: letters/{item['kind']}/{lang}: unknown "
                        f"placeholders {unknown} (known: {sorted(PLACEHOLDERS)})"
                    )


@cache
def rules(version: str | None = None) -> Referential:
    referential = load(KIND, version)
    check(referential)
    return referential


def data(version: str | None = None) -> dict:
    return rules(version).data


def notice_obligations() -> dict[str, dict]:
    return {o["code"]: o for o in data()["notice"]["obligations"]}


def in_use_phases() -> list[str]:
    return data()["notice"]["in_use_phases"]


def channels() -> dict[str, dict]:
    return {c["code"]: c for c in data()["channels"]}


def channel_label(code: str) -> str:
    channel = channels().get(code)
    return localized(channel) if channel else code


def channel_choices() -> list[tuple[str, str]]:
    return [(c["code"], localized(c)) for c in data()["channels"]]


def public_fields() -> list[dict]:
    return data()["public_fields"]


def public_field_choices() -> list[tuple[str, str]]:
    return [(f["code"], localized(f)) for f in public_fields()]


def request_kinds(version: str | None = None) -> dict[str, dict]:
    return {k["code"]: k for k in data(version)["requests"]["kinds"]}


def request_kind_choices() -> list[tuple[str, str]]:
    return [(k["code"], localized(k)) for k in data()["requests"]["kinds"]]


def kind_label(code: str, version: str | None = None) -> str:
    kind = request_kinds(version).get(code)
    return localized(kind) if kind else code


def letter(kind: str, version: str | None = None) -> list[str]:
    """The paragraphs of the letter for `kind`, in English when asked and written, else French."""
    item = next(x for x in data(version)["letters"] if x["kind"] == kind)
    english = (get_language() or "fr").startswith("en")
    return item["en"] if english and item.get("en") else item["fr"]
