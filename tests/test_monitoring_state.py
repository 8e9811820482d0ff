"""The monitoring state: counts per local day kept up to date at ingestion, exactly equal to
counting the Delta tables again, whatever the order in which predictions and outcomes come,
after an erasure, a lost update or a change of the feed's columns; and the engine operations
it is built on (splicing days, saving, month units)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from garant.core.audit import audit_context
from garant.monitoring import engine, storage
from garant.monitoring.ingest import ingest
from garant.monitoring.models import IngestBatch
from tests.conftest import make_feed

T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def feed(world):
    return make_feed(
        world["a"]["system"],
        feature_columns=["age"],
        categorical_columns=["service"],
        subgroup_columns=["site"],
        operating_threshold=0.5,
        outcome_window_hours=48,
    )


def predictions(first: int, n: int, seed: int = 0) -> pa.Table:
    """``n`` predictions every 5 hours from ``T0 + first × 5 h`` (ids ``id<k>``)."""
    rng = np.random.default_rng(seed + first)
    k = np.arange(first, first + n)
    return pa.table(
        {
            "prediction_id": [f"id{i}" for i in k],
            "timestamp": [(T0 + dt.timedelta(hours=5 * int(i))).isoformat() for i in k],
            "patient_id": [f"P{i % 7}" for i in k],
            "score": np.round(rng.random(n), 2),
            "model_version": ["1.0" if i < 40 else "1.1" for i in k],
            "age": rng.integers(20, 90, n).astype(float),
            "service": rng.choice(["urgences", "réa"], n),
            "site": rng.choice(["A", "B", "C"], n),
        }
    )


def outcomes(ids: list[int], hours_after: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "prediction_id": [f"id{i}" for i in ids],
            "outcome": rng.integers(0, 2, len(ids)),
            "outcome_time": [
                (T0 + dt.timedelta(hours=5 * i + hours_after)).isoformat() for i in ids
            ],
        }
    )


def recount(feed) -> engine.Counts:
    """What counting the Delta tables again from nothing gives."""
    return engine.aggregate(storage.joined(feed), storage.state_spec(feed), quantum=feed.quantum)


def assert_same(a: engine.Counts, b: engine.Counts) -> None:
    assert list(a.scores) == list(b.scores)
    for key in a.scores:
        for field in ("unit", "code", "n"):
            assert np.array_equal(getattr(a.scores[key], field), getattr(b.scores[key], field))
    assert list(a.features) == list(b.features)
    for name in a.features:
        # values no row holds any more may linger after a splice: compare the histograms
        for window in ((None, None), (T0.date(), dt.date(2024, 4, 1))):  # whole months
            ha, hb = (
                a.window(*window).value_histogram(name),
                b.window(*window).value_histogram(name),
            )
            assert np.array_equal(ha.values, hb.values) and np.array_equal(ha.counts, hb.counts)
            assert ha.missing == hb.missing


def test_state_follows_every_batch_and_equals_a_recount(feed):
    ingest(feed, "predictions", predictions(0, 30), "api")
    first = storage.counts(feed)
    assert first.score_histogram().totals.sum() == 30
    assert first.info["batches"] == [b.pk for b in IngestBatch.objects.order_by("pk")]
    assert_same(first, recount(feed))
    # outcomes of the first ten, in the window (some after two days: label still unknown)
    ingest(feed, "outcomes", outcomes(list(range(10)), hours_after=12), "api")
    ingest(feed, "outcomes", outcomes(list(range(10, 14)), hours_after=60), "api")
    # more predictions, then outcomes for both old and new ones
    ingest(feed, "predictions", predictions(30, 30), "api")
    ingest(feed, "outcomes", outcomes([20, 21, 45, 46, 47], hours_after=3, seed=2), "api")
    assert_same(storage.counts(feed), recount(feed))
    # one outcome alone, 40 hours after its prediction: two days later, still in the window
    ingest(feed, "outcomes", outcomes([33], hours_after=40), "api")
    state = storage.counts(feed)
    h = state.score_histogram()
    assert int(h.totals.sum()) == 60 and int(h.positives.sum() + h.negatives.sum()) == 16
    assert_same(state, recount(feed))
    assert storage.state_path(feed).exists()


def test_outcomes_sent_before_their_predictions_are_refused_then_counted(feed):
    from garant.monitoring.ingest import BatchRefused

    with pytest.raises(BatchRefused) as refused:  # issue 19: outcomes of unknown predictions
        ingest(feed, "outcomes", outcomes(list(range(5)), hours_after=1), "api")
    assert [e.row for e in refused.value.errors] == [1, 2, 3, 4, 5]
    assert "prédiction inconnue" in refused.value.errors[0].reason
    assert not IngestBatch.objects.exists()
    ingest(feed, "predictions", predictions(0, 8), "api")
    ingest(feed, "outcomes", outcomes(list(range(5)), hours_after=1), "api")
    state = storage.counts(feed)
    h = state.score_histogram()
    assert int(h.positives.sum() + h.negatives.sum()) == 5
    assert_same(state, recount(feed))


def test_a_lost_update_is_caught_up_at_the_next_read(feed, django_capture_on_commit_callbacks):
    ingest(feed, "predictions", predictions(0, 10), "api")
    storage.counts(feed)
    # the batch commits but its process dies before updating the state: nothing ran after
    with django_capture_on_commit_callbacks(execute=False):
        ingest(feed, "predictions", predictions(10, 10), "api")
    saved = engine.load(storage.state_path(feed))
    assert saved.score_histogram().totals.sum() == 10
    assert storage.counts(feed).score_histogram().totals.sum() == 20


def test_the_state_is_updated_once_the_batch_is_committed(feed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ingest(feed, "predictions", predictions(0, 12), "api")
    saved = engine.load(storage.state_path(feed))
    assert saved.score_histogram().totals.sum() == 12


def test_erasure_and_a_removed_batch_are_reflected(feed):
    ingest(feed, "predictions", predictions(0, 21), "api")
    before = int(storage.counts(feed).score_histogram().totals.sum())
    with audit_context(source="test"):
        removed = storage.erase_patient(feed, "P3")
    assert removed == 3 and before == 21
    state = storage.counts(feed)
    assert int(state.score_histogram().totals.sum()) == 18
    assert_same(state, recount(feed))
    # a batch taken back (its commit failed) leaves no count behind
    batch = IngestBatch.objects.get()
    storage.remove_batch(feed, "predictions", batch.pk)
    with audit_context(source="test"):
        batch.delete()
    assert storage.counts(feed).score_histogram().totals.sum() == 0


def test_changing_the_feed_columns_rebuilds_the_state(feed):
    ingest(feed, "predictions", predictions(0, 10), "api")
    assert "service" in storage.counts(feed).features
    with audit_context(source="test"):
        feed.categorical_columns = []
        feed.save()
    state = storage.counts(feed)
    assert "service" not in state.features and "age" in state.features
    assert state.score_histogram().totals.sum() == 10


def test_an_unreadable_state_file_is_rebuilt(feed):
    ingest(feed, "predictions", predictions(0, 10), "api")
    storage.counts(feed)
    storage.state_path(feed).write_bytes(b"not a counts file")
    storage._cache.clear()
    assert storage.counts(feed).score_histogram().totals.sum() == 10


def test_report_figures_come_from_the_state_and_equal_a_recount(feed):
    from garant.monitoring.report import build_report

    ingest(feed, "predictions", predictions(0, 60), "api")
    ingest(feed, "outcomes", outcomes(list(range(50)), hours_after=6), "api")
    report = build_report(feed, T0.date(), T0.date() + 12 * DAY, by="day")
    whole = recount(feed).window(T0.date(), T0.date() + 13 * DAY)
    expected = engine.performance(whole.score_histogram(), threshold=0.5)
    assert report["performance"]["auc"]["value"] == expected.auc.value is not None
    assert report["performance"]["count"] == 60
    assert {v["version"]: v["count"] for v in report["model_versions"]} == {"1.0": 40, "1.1": 20}


# --- the engine operations under the state --------------------------------------------------


def engine_table(n: int, seed: int, first_day: dt.date) -> pa.Table:
    rng = np.random.default_rng(seed)
    base = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC)
    seconds = np.sort(rng.integers(0, 40 * 86400, n))
    label = rng.random(n) < 0.3
    return pa.table(
        {
            "timestamp": pa.array(
                [base + dt.timedelta(seconds=int(s)) for s in seconds], pa.timestamp("us", "UTC")
            ),
            "score": np.round(np.clip(rng.normal(0.4 + 0.2 * label, 0.2), 0, 1), 3),
            "label": pa.array(label.astype(np.int8), mask=rng.random(n) < 0.1),
            "age": np.round(rng.normal(60, 15, n), 1),
            "site": rng.choice(["A", "B"], n),
        }
    )


SPEC = engine.ColumnSpec(numeric_features=("age",), groups=("site",), timezone="Europe/Paris")


def test_splicing_days_equals_counting_everything():
    first = dt.date(2024, 3, 10)
    old = engine_table(3000, 1, first)
    new = engine_table(3000, 2, first)
    counts = engine.aggregate(old, SPEC)
    start, end = dt.date(2024, 3, 20), dt.date(2024, 4, 2)

    def days(table, low, high):
        return engine.aggregate(table, SPEC, start=low, end=high)

    # the days [start, end) are replaced by those of `new`
    spliced = counts.spliced(start, end, days(new, start, end))
    expected = days(old, None, start) + days(new, start, end) + days(old, end, None)
    assert_same(spliced, expected)
    # every day replaced (a feed's first batch, into empty counts): the new counts themselves
    fresh = days(new, None, None)
    assert_same(engine.empty_counts(SPEC).spliced(first, dt.date(2025, 1, 1), fresh), fresh)
    assert_same(counts.spliced(dt.date(2024, 1, 1), dt.date(2025, 1, 1), fresh), fresh)


def test_counts_survive_saving_and_loading(tmp_path):
    counts = engine.aggregate(engine_table(2000, 3, dt.date(2024, 1, 1)), SPEC)
    counts.save(tmp_path / "state.npz")
    loaded = engine.load(tmp_path / "state.npz")
    assert_same(loaded, counts)
    assert engine.performance(loaded.where(site="B").score_histogram(), 0.5) == engine.performance(
        counts.where(site="B").score_histogram(), 0.5
    )


def test_month_units_give_the_figures_of_whole_months():
    table = engine_table(5000, 4, dt.date(2024, 2, 10))
    by_day = engine.aggregate(table, SPEC)
    by_month = engine.aggregate(table, SPEC, unit="month")
    march = (dt.date(2024, 3, 1), dt.date(2024, 4, 1))
    for counts in (by_day, by_month):
        assert counts.window(*march).score_histogram().totals.sum() > 0
    assert engine.performance(by_month.window(*march).score_histogram(), 0.5) == (
        engine.performance(by_day.window(*march).score_histogram(), 0.5)
    )
    assert by_month.volume("month") == by_day.volume("month")
    with pytest.raises(ValueError, match="first days of months"):
        by_month.window(dt.date(2024, 3, 5))


def test_local_days_follow_daylight_saving_time():
    # 31/03/2024 02:00 in Paris: clocks go forward; 27/10/2024 03:00: back
    stamps = [
        dt.datetime(2024, 3, 30, 22, 59, tzinfo=dt.UTC),  # 30/03 23:59 Paris (UTC+1)
        dt.datetime(2024, 3, 30, 23, 0, tzinfo=dt.UTC),  # 31/03 00:00
        dt.datetime(2024, 3, 31, 21, 59, tzinfo=dt.UTC),  # 31/03 23:59 (UTC+2)
        dt.datetime(2024, 3, 31, 22, 0, tzinfo=dt.UTC),  # 01/04 00:00
        dt.datetime(2024, 10, 26, 21, 59, tzinfo=dt.UTC),  # 26/10 23:59 (UTC+2)
        dt.datetime(2024, 10, 26, 22, 0, tzinfo=dt.UTC),  # 27/10 00:00
        dt.datetime(2024, 10, 27, 22, 59, tzinfo=dt.UTC),  # 27/10 23:59 (UTC+1)
        dt.datetime(2024, 10, 27, 23, 0, tzinfo=dt.UTC),  # 28/10 00:00
    ]
    days = engine.counts.local_days(pa.array(stamps, pa.timestamp("us", "UTC")), "Europe/Paris")
    expected = [s.astimezone(ZoneInfo("Europe/Paris")).date() for s in stamps]
    assert [engine.counts.EPOCH + dt.timedelta(days=int(d)) for d in days] == expected


def test_command_line_updates_and_rebuilds_the_state(feed):
    from io import StringIO

    from django.core.management import call_command

    ingest(feed, "predictions", predictions(0, 9), "api")
    out = StringIO()
    call_command("monitor", "state", "--feed", feed.reference, stdout=out)
    assert f"{feed.reference} : 9 prédiction(s) comptée(s), 1 lot(s)." in out.getvalue()
    storage.state_path(feed).unlink()
    call_command("monitor", "state", "--rebuild", stdout=out)
    assert engine.load(storage.state_path(feed)).score_histogram().totals.sum() == 9


def test_running_monthly_totals_give_the_counts_of_any_window(monkeypatch):
    """Large blocks sum whole months from running totals: the same as counting every day."""
    table = engine_table(6000, 5, dt.date(2024, 1, 20))
    counts = engine.aggregate(table, SPEC)
    rng = np.random.default_rng(7)
    first = dt.date(2024, 1, 10)
    windows = [(None, None), (dt.date(2024, 2, 1), dt.date(2024, 3, 1)), (first, None)]
    for _ in range(40):
        a, b = sorted(rng.integers(0, 60, 2).tolist())
        windows.append((first + dt.timedelta(days=a), first + dt.timedelta(days=b + 1)))

    def figures(window):
        part = counts.window(*window)
        return (
            engine.performance(part.score_histogram(), 0.5),
            engine.performance(part.where(site="A").score_histogram(), 0.5),
            part.value_histogram("age"),
        )

    direct = [figures(w) for w in windows]
    monkeypatch.setattr(engine.counts, "MONTHLY_FROM", 0)
    for window, expected in zip(windows, direct, strict=True):
        got = figures(window)
        assert got[:2] == expected[:2], window
        assert np.array_equal(got[2].counts, expected[2].counts), window
        assert np.array_equal(got[2].values, expected[2].values), window


def test_rows_in_time_order_or_not_give_the_same_counts():
    table = engine_table(4000, 6, dt.date(2024, 5, 1))  # in time order
    shuffled = table.take(np.random.default_rng(8).permutation(table.num_rows))
    assert engine.counts._segments(engine.counts.local_days(table["timestamp"])) is not None
    assert engine.counts._segments(engine.counts.local_days(shuffled["timestamp"])) is None
    # monthly files read in another order: runs of days, not in order
    days = engine.counts.local_days(table["timestamp"])
    late = days >= (dt.date(2024, 5, 20) - engine.counts.EPOCH).days
    swapped = pa.concat_tables([table.filter(pa.array(late)), table.filter(pa.array(~late))])
    assert engine.counts._segments(engine.counts.local_days(swapped["timestamp"])) is not None
    for unit in ("day", "month"):
        whole = engine.aggregate(table, SPEC, unit=unit)
        assert_same(whole, engine.aggregate(shuffled, SPEC, unit=unit))
        assert_same(whole, engine.aggregate(swapped, SPEC, unit=unit))


@pytest.mark.parametrize("rows", [1000, 777, 250])
def test_counting_in_pieces_gives_the_counts_of_the_whole(monkeypatch, tmp_path, rows):
    """Pieces of a log in time order (sharing the days at their edges) or shuffled."""
    table = engine_table(5000, 9, dt.date(2024, 5, 1))
    shuffled = table.take(np.random.default_rng(10).permutation(table.num_rows))
    whole = {u: engine.aggregate(table, SPEC, unit=u) for u in ("day", "month")}
    path = tmp_path / "log.parquet"
    pq.write_table(table, path, row_group_size=rows)
    monkeypatch.setattr(engine.counts, "PIECE_ROWS", rows)
    for unit in ("day", "month"):
        assert_same(engine.aggregate(table, SPEC, unit=unit), whole[unit])
        assert_same(engine.aggregate(shuffled, SPEC, unit=unit), whole[unit])
        assert_same(engine.aggregate(str(path), SPEC, unit=unit), whole[unit])
        assert_same(engine.aggregate(ds.dataset(path), SPEC, unit=unit), whole[unit])


def test_a_new_batch_alone_on_its_days_is_counted_from_memory(
    feed, django_capture_on_commit_callbacks, monkeypatch
):
    """After its commit, a predictions batch whose days hold no other batch is counted from
    the rows in memory, not read back."""
    read_back = []
    original = storage._count_days
    monkeypatch.setattr(storage, "_count_days", lambda *a: read_back.append(a) or original(*a))
    with django_capture_on_commit_callbacks(execute=True):
        ingest(feed, "predictions", predictions(0, 20), "api")  # days 1-5 March
    assert read_back == []
    saved = engine.load(storage.state_path(feed))
    assert int(saved.score_histogram().totals.sum()) == 20
    assert_same(saved, recount(feed))
    with django_capture_on_commit_callbacks(execute=True):
        ingest(feed, "predictions", predictions(40, 10), "api")  # later days: alone again
    assert read_back == []
    with django_capture_on_commit_callbacks(execute=True):
        ingest(feed, "predictions", predictions(20, 20), "api")  # shares days: read back
    assert len(read_back) == 1
    assert_same(engine.load(storage.state_path(feed)), recount(feed))


def test_counts_made_before_the_commit_are_redone_if_outcomes_came_meanwhile(feed, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from garant.monitoring import ingest as ingestion
    from garant.monitoring.ingest import normalise

    # outcomes of predictions not yet stored are refused at the door (test above); the
    # state's bookkeeping is checked here on its own, as if they had come meanwhile
    monkeypatch.setattr(ingestion, "check_predictions_known", lambda *args: None)

    rows = normalise(feed, "predictions", predictions(0, 12))
    with ThreadPoolExecutor(max_workers=1) as pool:
        early = storage.precount(feed, rows, pool)
    labelled = early.current(feed).score_histogram()
    assert int(labelled.positives.sum() + labelled.negatives.sum()) == 0
    ingest(feed, "outcomes", outcomes(list(range(6)), hours_after=1), "api")  # meanwhile
    h = early.current(feed).score_histogram()
    assert int(h.positives.sum() + h.negatives.sum()) == 6


def test_tables_can_live_under_a_storage_uri(feed, settings, tmp_path):
    """GARANT_MONITORING_TABLES puts the Delta tables under a URI (object storage in
    production; here a file:// URI, the same code path without a network)."""
    settings.GARANT_MONITORING_TABLES = (tmp_path / "bucket").as_uri()
    ingest(feed, "predictions", predictions(0, 12), "api")
    ingest(feed, "outcomes", outcomes(list(range(4)), hours_after=3), "api")
    assert (tmp_path / "bucket" / str(feed.pk) / "predictions" / "_delta_log").is_dir()
    assert not storage.table_path(feed, "predictions").exists()
    h = storage.counts(feed).score_histogram()
    assert int(h.totals.sum()) == 12 and int(h.positives.sum() + h.negatives.sum()) == 4
    with audit_context(source="test"):
        assert storage.erase_patient(feed, "P1") == 3  # 2 predictions and 1 outcome
    assert storage.counts(feed).score_histogram().totals.sum() == 10
