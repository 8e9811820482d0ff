"""What changed between two versions of a versioned record (an oversight plan, a risk
analysis…), as the pages show it: one entry per changed item, with its label and either
`before`/`after` (a single value) or `removed`/`added` lines (the rows of a table).

The caller gives each version's content as a dict, the labels, the names of its tables with
the function that turns a row into a readable line, and the names of its single values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence


def diff(
    before: dict,
    after: dict,
    labels: dict[str, str],
    tables: dict[str, Callable[[dict], str]] | None = None,
    fields: Iterable[str] = (),
) -> list[dict]:
    changes = []
    for name, line in (tables or {}).items():
        old_lines = [line(r) for r in before.get(name, [])]
        new_lines = [line(r) for r in after.get(name, [])]
        removed = [x for x in old_lines if x not in new_lines]
        added = [x for x in new_lines if x not in old_lines]
        if removed or added:
            changes.append(
                {"field": name, "label": labels[name], "removed": removed, "added": added}
            )
    for name in fields:
        if before.get(name) != after.get(name):
            changes.append(
                {
                    "field": name,
                    "label": labels[name],
                    "before": before.get(name, ""),
                    "after": after.get(name),
                }
            )
    return changes


def history(rows: Sequence, compare: Callable[[object | None, object], list[dict]]) -> list[dict]:
    """Every version (`rows`, latest first), each with its changes from the one before."""
    return [
        {"version": v, "changes": compare(rows[i + 1] if i + 1 < len(rows) else None, v)}
        for i, v in enumerate(rows)
    ]
