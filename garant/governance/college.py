"""The collège de garantie humaine's review campaigns: the reproducible draw of cases from the
feedback events, the reviewers' progress and quorum, and the inter-reviewer agreement.

The draw (`draw`) takes the feedback events of the establishment over a period (local days,
Europe/Paris), of the chosen systems, from the batches committed up to the draw (their
highest id is recorded, so later batches do not change the pool). The pool is sorted by
(outcome, service, system, event id), cut into strata by (outcome, service), and
``numpy.random.default_rng(seed)`` draws up to ``per_stratum`` events from each stratum in
turn, strata in sorted order. The rule (period, systems, strata, number per stratum, highest
batch id) and the seed are stored with the campaign: `redraw` makes the same draw again and
gives the same events in the same order.

Agreement per question (AI output appropriate? human decision appropriate?): Cohen's kappa
for two reviewers (over the cases both reviewed), Fleiss' kappa for three or more (over the
cases every one of them reviewed). Answers are the three categories yes / no / unsure.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db.models import Count, F, Q

from garant.core import audit
from garant.core.referentials import ReferentialError, load, localized
from garant.governance.models import Appraisal, CaseReview, ReviewCampaign, ReviewCase
from garant.oversight import storage
from garant.oversight.models import FeedbackBatch
from garant.oversight.rates import cohen_kappa

PARIS = ZoneInfo("Europe/Paris")
STRATA = ["outcome", "service"]
COLUMNS = ["system_id", "event_id", "time", "outcome", "service", "prediction_id", "batch_id"]
#: the two questions a reviewer answers per case, and their model fields
QUESTIONS = {
    "ai": "ai_output_appropriate",
    "human": "human_decision_appropriate",
}
MAX_CASES = 500


# --- the reason codes (referential `college_review`) -----------------------------------------


@dataclass(frozen=True)
class Reasons:
    version: str
    items: dict[str, dict]

    def choices(self) -> list[tuple[str, str]]:
        return [(code, localized(item)) for code, item in self.items.items()]

    def label(self, code: str) -> str:
        item = self.items.get(code)
        return localized(item) if item else code


@cache
def reasons(version: str | None = None) -> Reasons:
    referential = load("college_review", version)
    codes = [item["code"] for item in referential.data["reasons"]]
    if dupes := sorted({c for c in codes if codes.count(c) > 1}):
        raise ReferentialError(f"{referential.path}: reasons: duplicate codes {dupes}")
    return Reasons(referential.version, {i["code"]: i for i in referential.data["reasons"]})


# --- the draw --------------------------------------------------------------------------------


class EmptyPool(Exception):
    """No feedback event in the period for the chosen systems."""


def new_seed() -> int:
    return secrets.randbelow(2**31)


def make_rule(
    establishment, start: dt.date, end: dt.date, system_ids: list[int], per_stratum: int
) -> dict:
    """The rule of a draw made now: what `select` needs to make it again."""
    batches = FeedbackBatch.committed_ids(establishment)
    return {
        "source": "feedback_events",
        "period": [start.isoformat(), end.isoformat()],
        "timezone": "Europe/Paris",
        "systems": sorted(int(s) for s in system_ids),
        "strata": list(STRATA),
        "per_stratum": int(per_stratum),
        "max_batch_id": max(batches, default=0),
        "order": ["outcome", "service", "system_id", "event_id"],
        "generator": "numpy.random.default_rng",
    }


def _pool(establishment_id: int, rule: dict) -> pa.Table:
    start, end = (dt.date.fromisoformat(d) for d in rule["period"])
    tz = ZoneInfo(rule.get("timezone", "Europe/Paris"))
    begin = dt.datetime.combine(start, dt.time(), tz)
    stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz)
    # system code: the establishment was reached through a scoped campaign or committee
    batches = list(
        FeedbackBatch.objects.unrestricted()
        .filter(establishment_id=establishment_id, pk__lte=rule["max_batch_id"])
        .values_list("pk", flat=True)
    )
    table = storage.read(
        establishment_id, batches, rule["systems"] or None, begin, stop, columns=COLUMNS
    )
    table = table.set_column(
        table.schema.get_field_index("service"), "service", pc.fill_null(table["service"], "")
    )
    order = pc.sort_indices(
        table, sort_keys=[(c, "ascending") for c in ["outcome", "service", "system_id", "event_id"]]
    )
    return table.take(order)


def select(establishment_id: int, rule: dict, seed: int) -> list[dict]:
    """The drawn events (dicts of `COLUMNS`), in draw order: same rule and seed, same list."""
    pool = _pool(establishment_id, rule)
    if not pool.num_rows:
        return []
    keys = pc.binary_join_element_wise(
        *[pool[c].cast(pa.string()) for c in rule["strata"]], "\x1f"
    ).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for first, stop in zip(starts, ends, strict=True):
        size = int(stop - first)
        picks = rng.choice(size, size=min(rule["per_stratum"], size), replace=False)
        chosen.extend(int(first + p) for p in picks)
    rows = pool.take(pa.array(chosen, pa.int64())).to_pylist()
    return rows


def draw(
    committee,
    *,
    title: str,
    start: dt.date,
    end: dt.date,
    system_ids: list[int],
    per_stratum: int,
    seed: int | None,
    user,
) -> ReviewCampaign:
    """Draw a campaign's cases and store it (the caller sets the audit context)."""
    establishment = committee.establishment
    rule = make_rule(establishment, start, end, system_ids, per_stratum)
    seed = new_seed() if seed is None else int(seed)
    rows = select(establishment.pk, rule, seed)
    if not rows:
        raise EmptyPool
    if len(rows) > MAX_CASES:
        raise ValueError(len(rows))
    with audit.deferred():  # one campaign and its cases, each audited, chained at the end
        campaign = ReviewCampaign.objects.create(
            committee=committee,
            title=title,
            period_start=start,
            period_end=end,
            seed=seed,
            rule=rule,
            reasons_version=reasons().version,
            created_by=user,
        )
        for i, row in enumerate(rows, start=1):
            ReviewCase.objects.create(
                campaign=campaign,
                position=i,
                ai_system_id=row["system_id"],
                event_id=row["event_id"],
                prediction_id=row["prediction_id"] or "",
                time=row["time"],
                outcome=row["outcome"],
                service=row["service"] or "",
            )
    return campaign


def redraw(campaign: ReviewCampaign) -> list[tuple[int, str]]:
    """The (system, event id) of the draw made again from the campaign's rule and seed."""
    rows = select(campaign.committee.establishment_id, campaign.rule, campaign.seed)
    return [(row["system_id"], row["event_id"]) for row in rows]


def stored_draw(campaign: ReviewCampaign) -> list[tuple[int, str]]:
    return list(
        ReviewCase.objects.within(campaign=campaign)
        .order_by("position")
        .values_list("ai_system_id", "event_id")
    )


# --- progress, quorum and agreement ----------------------------------------------------------


def reviewers(campaign: ReviewCampaign) -> list:
    """The collège's members with a Garant account: who may review its cases."""
    seats = campaign.committee.members.filter(user__isnull=False).select_related("user")
    return [seat.user for seat in seats]


def progress(campaign: ReviewCampaign) -> dict:
    """Cases reviewed per reviewer, who has finished, and whether the quorum is reached."""
    n_cases = campaign.cases.count()
    done: dict[int, int] = {}
    for reviewer_id in CaseReview.objects.within(case__campaign=campaign).values_list(
        "reviewer_id", flat=True
    ):
        done[reviewer_id] = done.get(reviewer_id, 0) + 1
    people = reviewers(campaign)
    rows = [
        {"user": u, "done": done.get(u.pk, 0), "complete": done.get(u.pk, 0) >= n_cases}
        for u in people
    ]
    complete = sum(1 for row in rows if row["complete"])
    needed = campaign.committee.quorum_needed(len(people))
    return {
        "cases": n_cases,
        "reviewers": rows,
        "complete": complete,
        "quorum": needed,
        "quorum_reached": complete >= needed and n_cases > 0,
    }


def fleiss_kappa(counts: list[list[int]]) -> dict:
    """Fleiss' kappa of `counts[i][j]`: the number of raters who put case i in category j
    (every case rated by the same number of raters, at least two)."""
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or not table.shape[0]:
        return {"cases": 0, "agreement": None, "kappa": None}
    n = table.sum(axis=1)
    if (n != n[0]).any() or n[0] < 2:
        raise ValueError("every case needs the same number (≥ 2) of ratings")
    raters, cases = n[0], table.shape[0]
    p_j = table.sum(axis=0) / (cases * raters)
    p_i = ((table * table).sum(axis=1) - raters) / (raters * (raters - 1))
    observed = float(p_i.mean())
    expected = float((p_j * p_j).sum())
    kappa = None if expected == 1 else (observed - expected) / (1 - expected)
    return {"cases": cases, "agreement": observed, "kappa": kappa}


def agreement(campaign: ReviewCampaign) -> dict:
    """Per question: the method (Cohen, Fleiss), the cases counted, observed agreement and
    kappa; None when fewer than two reviewers answered."""
    answers: dict[int, dict[int, CaseReview]] = {}
    for review in CaseReview.objects.within(case__campaign=campaign):
        answers.setdefault(review.reviewer_id, {})[review.case_id] = review
    people = sorted(answers)
    if len(people) < 2:
        return {}
    shared = set.intersection(*(set(answers[p]) for p in people))
    categories = list(Appraisal.values)
    result = {}
    for question, field in QUESTIONS.items():
        if len(people) == 2:
            first, second = people
            pairs: dict[tuple[str, str], int] = {}
            for case in shared:
                key = (getattr(answers[first][case], field), getattr(answers[second][case], field))
                pairs[key] = pairs.get(key, 0) + 1
            data = cohen_kappa(pairs)
            result[question] = {
                "method": "cohen",
                "cases": data["pairs"],
                "agreement": data["agreement"],
                "kappa": data["kappa"],
                "raters": 2,
            }
        else:
            counts = [
                [sum(getattr(answers[p][case], field) == c for p in people) for c in categories]
                for case in sorted(shared)
            ]
            data = fleiss_kappa(counts) if counts else {"cases": 0, "agreement": None}
            result[question] = {
                "method": "fleiss",
                "cases": data["cases"],
                "agreement": data["agreement"],
                "kappa": data.get("kappa"),
                "raters": len(people),
            }
    return result


def finding_of(system, pk: int) -> ReviewCase | None:
    """The reviewed case `pk` of `system` (a collège finding a suspension may rest on); the
    caller scoped `system`. A case nobody reviewed yet is no finding."""
    return (
        ReviewCase.objects.within(ai_system=system)
        .filter(pk=pk, reviews__isnull=False)
        .select_related("suspension")
        .first()
    )


def findings_of(suspension) -> list[ReviewCase]:
    """The reviewed cases a suspension proposal rests on."""
    return list(
        ReviewCase.objects.within(suspension=suspension)
        .select_related("campaign")
        .order_by("campaign", "position")
    )


def home_todo(user) -> dict:
    """The home page's "À faire": the open campaigns of a collège where `user` holds a seat
    and has cases left to review."""
    campaigns = (
        ReviewCampaign.objects.for_user(user)
        .filter(status=ReviewCampaign.Status.OPEN, committee__members__user=user)
        .annotate(
            n_cases=Count("cases", distinct=True),
            n_mine=Count("cases__reviews", filter=Q(cases__reviews__reviewer=user), distinct=True),
        )
        .filter(n_mine__lt=F("n_cases"))
        .select_related("committee__establishment")
        .order_by("created_at", "pk")
    )
    return {"college_campaigns": campaigns[:8]}
