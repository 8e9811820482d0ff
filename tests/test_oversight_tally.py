"""The oversight state (issue 12, item 3): the rates read from the system's tally (counts per
day, sorted decision times, decision pairs) equal those computed from the raw events."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from garant.core.audit import audit_context
from garant.oversight import ingest, rates, referential, tally
from garant.oversight.models import FeedbackBatch

SERVICES = ["Urgences", "Radiologie", "Pédiatrie", "Réanimation"]
ROLES = ["medecin", "interne", "infirmier"]
OUTCOMES = ["accepted", "modified", "overridden", "ignored", "not_shown"]


def random_events(system, n: int, seed: int, prefix: str) -> pa.Table:
    """Events over five months across the DST change (30/03/2025), with blanks everywhere."""
    rng = np.random.default_rng(seed)
    reasons = list(referential.codes().reasons)
    start = np.datetime64("2025-02-01T00:00:00")
    seconds = rng.integers(0, 150 * 86400, n)
    times = (start + seconds.astype("timedelta64[s]")).astype(str)

    def pick(values, blank=0.1):
        chosen = rng.choice(values, n).astype(object)
        chosen[rng.random(n) < blank] = None
        return pa.array(list(chosen), pa.string())

    # few distinct decision times: ties, and groups of an even size
    ms = rng.choice([400, 900, 1500, 2000, 2500, 7000, 12000], n).astype(object)
    ms[rng.random(n) < 0.2] = None
    ratio = np.round(rng.random(n), 3).astype(object)
    ratio[rng.random(n) < 0.3] = None
    return pa.table(
        {
            "system": pa.array([str(system.pk)] * n),
            "event_id": pa.array([f"{prefix}-{i}" for i in range(n)]),
            "time": pa.array([f"{t}+00:00" for t in times]),
            "outcome": pa.array(list(rng.choice(OUTCOMES, n, p=[0.6, 0.1, 0.15, 0.1, 0.05]))),
            "reason": pick(reasons, 0.5),
            "role": pick(ROLES),
            "service": pick(SERVICES),
            "decision_ms": pa.array([None if v is None else str(v) for v in ms]),
            "edit_ratio": pa.array([None if v is None else str(v) for v in ratio]),
            "ai_decision": pick(["positif", "negatif", "douteux"], 0.2),
            "final_decision": pick(["positif", "negatif"], 0.2),
        }
    )


def send(system, table) -> ingest.Received:
    with audit_context(source="test"):
        return ingest.ingest(system.establishment, table, "file", evaluate=False)


def assert_same(got: dict, want: dict) -> None:
    """Equal, the mean edit measures within rounding (a sum in another order)."""
    assert got.keys() == want.keys()
    for name in want:
        rows_got = got[name] if isinstance(got[name], list) else [got[name]]
        rows_want = want[name] if isinstance(want[name], list) else [want[name]]
        if name == "kappa":
            assert got[name] == want[name]  # exact: integer counts
            continue
        assert len(rows_got) == len(rows_want), name
        for a, b in zip(rows_got, rows_want, strict=True):
            mean_a, mean_b = a.pop("mean_edit_ratio"), b.pop("mean_edit_ratio")
            assert a == b, name
            if mean_b is None:
                assert mean_a is None, name
            else:
                assert mean_a == pytest.approx(mean_b, rel=1e-12, abs=0), name


def compare(system, start: dt.date, end: dt.date) -> None:
    state = tally.counts(system)
    for by in ("day", "week", "month"):
        raw = rates.summarise(rates.events(system, start, end), by)
        assert_same(rates.summarise_tally(state, start, end, by), raw)


def test_tally_rates_equal_the_raw_computation(world, django_capture_on_commit_callbacks):
    system = world["a"]["system"]
    # the first batch is added once committed (counted in memory), the others read back
    with django_capture_on_commit_callbacks(execute=True):
        send(system, random_events(system, 3000, 1, "a"))
    saved = tally.load(tally.state_path(system))  # saved after the commit, not read back
    assert saved is not None and saved.events == 3000
    send(system, random_events(system, 2000, 2, "b"))
    send(system, random_events(system, 1500, 3, "c"))
    state = tally.counts(system)
    assert state.events == 6500
    compare(system, dt.date(2025, 1, 1), dt.date(2025, 8, 1))
    compare(system, dt.date(2025, 3, 12), dt.date(2025, 4, 3))  # partial weeks and months
    compare(system, dt.date(2026, 3, 1), dt.date(2026, 4, 1))  # nothing
    # the median is NumPy's, on the raw values
    events = rates.events(system).to_pydict()
    accepted = [
        ms
        for ms, outcome in zip(events["decision_ms"], events["outcome"], strict=True)
        if outcome == "accepted" and ms is not None
    ]
    total = rates.system_summary(system, dt.date(2025, 1, 1), dt.date(2025, 8, 1))["total"]
    assert total["median_decision_seconds"] == np.median(accepted) / 1000
    # the alert windows: the same counts per service and window
    window = rates.window_counts(
        system, dt.date(2025, 4, 1), dt.date(2025, 5, 1), dt.date(2025, 6, 1)
    )
    whole = {row["w"]: row for row in window if row["service"] is None}
    raw = rates.summarise(rates.events(system, dt.date(2025, 5, 1), dt.date(2025, 6, 1)), "month")
    shown = raw["total"]["shown"]
    assert (whole[0]["shown"], whole[0]["overridden"]) == (shown, raw["total"]["overridden"])


def test_sending_again_does_not_count_twice_and_a_batch_taken_back_is_uncounted(world):
    system = world["a"]["system"]
    first, second = random_events(system, 800, 4, "x"), random_events(system, 700, 5, "y")
    send(system, first)
    send(system, second)
    assert tally.counts(system).events == 1500
    again = send(system, first)
    assert again.stored == 0 and again.batch is None
    assert tally.counts(system).events == 1500
    # a batch record removed (taken back): its rows are no longer read, the state recounts
    batch = FeedbackBatch.objects.unrestricted().order_by("pk").first()
    with audit_context(source="test"):
        batch.delete()
    assert tally.counts(system).events == 700
    compare(system, dt.date(2025, 1, 1), dt.date(2025, 8, 1))
    # a lost state file is counted again from the Delta table
    tally.state_path(system).unlink()
    assert tally.counts(system).events == 700
    assert tally.rebuild(system).events == 700
    with audit_context(source="test"):
        FeedbackBatch.objects.unrestricted().get().delete()
    assert tally.counts(system).events == 0
    assert rates.system_summary(system, dt.date(2025, 1, 1), dt.date(2025, 8, 1))["by_period"] == []


def test_the_alert_rules_read_the_tally(world):
    system = world["a"]["system"]
    send(system, random_events(system, 500, 6, "z"))
    with audit_context(source="test"):
        from garant.oversight.models import OversightRule

        rule = OversightRule.objects.create(
            ai_system=system,
            kind="acceptance_above",
            threshold=0.1,
            window_days=200,
            min_events=10,
        )
    from garant.oversight import alerts

    checks = alerts.check(rule, today=dt.date(2025, 7, 1))
    whole = next(c for c in checks if c.service == "")
    raw = rates.summarise(rates.events(system, dt.date(2024, 12, 13), dt.date(2025, 7, 1)))
    assert whole.value == pytest.approx(raw["total"]["accepted_rate"])
    assert whole.breached


def test_the_state_command_counts_again(world):
    from io import StringIO

    from django.core.management import call_command

    system = world["a"]["system"]
    send(system, random_events(system, 300, 7, "w"))
    out = StringIO()
    call_command("oversight_state", "--rebuild", "--system", str(system.pk), stdout=out)
    assert f"{system.pk} {system.name} : 300 événement(s)" in out.getvalue()


def test_a_file_with_dictionary_pages_is_checked_like_plain_text(world):
    """Codes and texts are checked on the dictionary of a Parquet column; a fault found
    there is still reported with its row."""
    system = world["a"]["system"]

    def table(outcome: str, service: str) -> pa.Table:
        plain = {
            "system": [str(system.pk)] * 3,
            "event_id": ["d-1", "d-2", "d-3"],
            "time": ["2025-03-01T10:00:00+01:00"] * 3,
            "outcome": ["accepted", outcome, "accepted"],
            "service": ["Urgences", "Urgences", service],
            "role": ["medecin", "  ", "interne"],
        }
        columns = {k: pa.array(v) for k, v in plain.items()}
        for name in ("outcome", "service", "role"):
            columns[name] = pc.dictionary_encode(columns[name])
        return pa.table(columns)

    with pytest.raises(ingest.BatchRefused) as refused:
        send(system, table("bogus", "x" * 101))
    found = {(e.row, e.column) for e in refused.value.errors}
    assert found == {(2, "outcome"), (3, "service")}
    assert send(system, table("overridden", "Radiologie")).stored == 3
    stored = rates.events(system).to_pydict()
    assert stored["role"] == ["medecin", None, "interne"]  # blank: not sent
    assert stored["outcome"] == ["accepted", "overridden", "accepted"]
