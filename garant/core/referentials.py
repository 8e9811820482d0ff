"""Versioned referential data (taxonomies, rules, grids): loaded from YAML, validated, cached.

Files live in `garant/referentials/<kind>/<version>.yaml` and are checked against
`garant/referentials/schemas/<kind>.schema.json` when first loaded (the core app loads every
kind at start-up, so a broken file stops the server with the file and the path of the error).
Versions sort as "YYYY.N"; the newest one is in force unless a version is asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jsonschema
import yaml
from django.utils.functional import lazy
from django.utils.translation import get_language

ROOT = Path(__file__).resolve().parent.parent / "referentials"


class ReferentialError(Exception):
    pass


@dataclass(frozen=True)
class Referential:
    kind: str
    version: str
    path: Path
    data: dict


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in path.stem.split("."))


def versions(kind: str) -> list[str]:
    return [p.stem for p in sorted((ROOT / kind).glob("*.yaml"), key=_version_key)]


#: libyaml's parser when PyYAML was built with it (several times faster), else pure Python
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str):
    """`yaml.safe_load` with the C parser when available."""
    return yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 (a safe loader)


@cache
def load(kind: str, version: str | None = None) -> Referential:
    """The referential `kind` of `version` (default: the newest), parsed once per version."""
    folder = ROOT / kind
    files = sorted(folder.glob("*.yaml"), key=_version_key)
    if not files:
        raise ReferentialError(f"no referential files in {folder}")
    if not version:  # the same cached object as load(kind, "<newest>"): one parse
        return load(kind, files[-1].stem)
    path = folder / f"{version}.yaml"
    if not path.exists():
        raise ReferentialError(f"{kind}: unknown version {version!r} (known: {versions(kind)})")
    # Round-trip through JSON so YAML dates become the strings the schema describes.
    data = json.loads(json.dumps(parse_yaml(path.read_text(encoding="utf-8")), default=str))
    schema = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8"))
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ReferentialError(f"{path}: {where}: {exc.message}") from exc
    if data["version"] != path.stem:
        raise ReferentialError(f"{path}: version {data['version']!r} differs from the file name")
    _check_unique_codes(path, data)
    return Referential(kind=kind, version=data["version"], path=path, data=data)


def _check_unique_codes(path: Path, data: dict) -> None:
    for name, vocab in data.get("vocabularies", {}).items():
        codes = [item["code"] for item in vocab["items"]]
        if dupes := {c for c in codes if codes.count(c) > 1}:
            raise ReferentialError(f"{path}: vocabularies/{name}: duplicate codes {sorted(dupes)}")


def localized(item: dict, key: str = "") -> str:
    """The French or English text of `item` (its label, or `description` etc.) for the request."""
    lang = "en" if (get_language() or "fr").startswith("en") else "fr"
    name = f"{key}_{lang}" if key else lang
    fallback = f"{key}_fr" if key else "fr"
    return item.get(name) or item.get(fallback, "")


localized_lazy = lazy(localized, str)


class Vocabulary:
    """One controlled list of the taxonomy: codes with bilingual labels and descriptions."""

    def __init__(self, name: str, data: dict):
        self.name = name
        self.label = localized_lazy(data["label"])
        self.items = {item["code"]: item for item in data["items"]}

    def choices(self) -> list[tuple[str, str]]:
        return [(code, localized_lazy(item)) for code, item in self.items.items()]

    def label_of(self, code: str | None) -> str:
        item = self.items.get(code or "")
        return localized(item) if item else (code or "")

    def description_of(self, code: str | None) -> str:
        item = self.items.get(code or "")
        return localized(item, "description") if item else ""

    def __contains__(self, code: str) -> bool:
        return code in self.items


def vocabulary(name: str) -> Vocabulary:
    return _vocabularies()[name]


@cache
def _vocabularies() -> dict[str, Vocabulary]:
    data = load("taxonomy").data["vocabularies"]
    return {name: Vocabulary(name, vocab) for name, vocab in data.items()}


def taxonomy_version() -> str:
    return load("taxonomy").version


def load_all() -> None:
    """Load and validate every kind of referential (called at start-up)."""
    for folder in sorted(p for p in ROOT.iterdir() if p.is_dir() and p.name != "schemas"):
        load(folder.name)
