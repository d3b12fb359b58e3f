"""The figures of the reports, each counted by the database from the report_facts rows the
filters choose (tasks/report_facts.py keeps one per application; what each figure counts is
said in tasks/reports.py): each a table of plain values, `Figure`, with its columns' keys
and kinds; the web layer names and formats them. `count` makes every figure at once.

The database gives back a row per group (month, region, expert, …); only the lists (the
overdue reviews, the budgets) and the stage times (their medians need every value) come a
row per application."""

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, or_, select

from engine.models import ReportFacts as Facts

TOPICS = (
    "management",
    "technology",
    "finance",
    "marketing",
    "legal",
    "human_resources",
    "quality",
    "work_safety",
)
STAGES = ("application", "survey", "preparation", "implementation", "follow_up", "archiving")
CATEGORIES = ("expert_fee", "travel", "venue", "materials", "other")
METHODS = ("phone", "online", "visit")
SCORES = ("content_score", "expert_score", "organisation_score")
UNKNOWN = "—"
FIGURES = (
    "applications_by_region",
    "applications_by_topic",
    "decisions",
    "review_timeliness",
    "overdue_reviews",
    "stage_times",
    "scores_by_month",
    "scores_by_expert",
    "follow_up",
    "extended_services",
    "budgets",
)


@dataclass(frozen=True)
class Column:
    key: str
    # How the web layer names the header: "field" (a fixed key), "region", "topic",
    # "category" (the key is the value itself, or a label of that list).
    header: str = "field"
    # What the cells hold: text, stage, method, month, time, count, number, percent,
    # days, hours, score, money.
    kind: str = "count"


@dataclass
class Figure:
    key: str
    columns: list[Column]
    rows: list[list]
    # What else a figure carries: the budgets' column totals (`totals`).
    extra: dict = field(default_factory=dict)


def topic_order(topic: str):
    return (TOPICS.index(topic), "") if topic in TOPICS else (len(TOPICS), topic)


def elements(session, column):
    """The elements of a JSON array column of report_facts, as text, one row each joined to
    their own row: SQLite's json_each, PostgreSQL's json_array_elements_text."""
    if session.get_bind().dialect.name == "sqlite":
        return func.json_each(column).table_valued("value", joins_implicitly=True).c.value
    return func.json_array_elements_text(column).column_valued("value", joins_implicitly=True)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def count(session, where, now: datetime) -> dict[str, Figure]:
    """Every figure of the report_facts rows matching `where`, at `now`."""
    months = _per_month(session, where)
    return {
        "applications_by_region": _by_region(session, where, months),
        "applications_by_topic": _by_topic(session, where, months),
        "decisions": _decisions(months),
        "review_timeliness": _timeliness(months),
        "overdue_reviews": _overdue(session, where, now),
        "stage_times": _stages(session, where),
        "scores_by_month": _scores_by_month(months),
        "scores_by_expert": _scores_by_expert(session, where),
        "follow_up": _follow_up(session, where),
        "extended_services": _extended(months),
        "budgets": _budgets(session, where),
    }


def _per_month(session, where) -> dict:
    """month -> what the per-month figures count of it, in one pass over the rows."""
    reviewed = and_(Facts.review_state == "completed", Facts.review_completed_at.is_not(None))
    on_time = or_(Facts.review_due_at.is_(None), Facts.review_completed_at <= Facts.review_due_at)
    needing = Facts.needing > 0
    agreed = and_(needing, Facts.agreed.is_(True))
    query = _grouped(
        where,
        Facts.month,
        func.count().label("applications"),
        _how_many(Facts.decision == "accept").label("accepted"),
        _how_many(Facts.decision == "reject").label("rejected"),
        _how_many(reviewed).label("reviewed"),
        _how_many(and_(reviewed, on_time)).label("on_time"),
        _how_many(Facts.evaluations > 0).label("evaluated"),
        *(total.label(f"score_{i}") for i, total in enumerate(_score_sums())),
        _how_many(needing).label("activities_needing"),
        func.sum(Facts.needing).label("enterprises_needing"),
        _how_many(agreed).label("agreements"),
        func.sum(case((agreed, Facts.contract_price), else_=0.0)).label("contract_total"),
    ).order_by(Facts.month)
    return {row.month: row for row in session.execute(query)}


def _how_many(condition):
    return func.sum(case((condition, 1), else_=0))


def _grouped(where, *columns, keys: int = 1):
    """SELECT columns … GROUP BY the first `keys` of them."""
    return select(*columns).select_from(Facts).where(where).group_by(*columns[:keys])


# -- the figures ------------------------------------------------------------------------------


def _by_region(session, where, months: dict) -> Figure:
    counts = {
        (month, region): n
        for month, region, n in session.execute(
            _grouped(where, Facts.month, Facts.region, func.count(), keys=2)
        )
    }
    regions = sorted({region for _, region in counts})
    rows = []
    for month in months:
        cells = [counts.get((month, region), 0) for region in regions]
        rows.append([month, *cells, sum(cells)])
    columns = [Column("month", kind="month")]
    columns += [Column(region, header="region") for region in regions]
    columns.append(Column("applications"))
    return Figure("applications_by_region", columns, rows)


def _by_topic(session, where, months: dict) -> Figure:
    topic = elements(session, Facts.topics)
    counts = {
        (month, t): n
        for month, t, n in session.execute(
            _grouped(where, Facts.month, topic, func.count(), keys=2)
        )
    }
    topics = sorted({t for _, t in counts}, key=topic_order)
    rows = [
        [month, *(counts.get((month, t), 0) for t in topics), months[month].applications]
        for month in months
    ]
    columns = [Column("month", kind="month")]
    columns += [Column(topic, header="topic") for topic in topics]
    columns.append(Column("applications"))
    return Figure("applications_by_topic", columns, rows)


def _decisions(months: dict) -> Figure:
    rows = [_decision_row(m, r.applications, r.accepted, r.rejected) for m, r in months.items()]
    if rows:
        rows.append(_decision_row("total", *(sum(row[i] for row in rows) for i in (1, 2, 3))))
    columns = [
        Column("month", kind="month"),
        Column("applications"),
        Column("accepted"),
        Column("rejected"),
        Column("pending"),
        Column("accept_rate", kind="percent"),
        Column("reject_rate", kind="percent"),
    ]
    return Figure("decisions", columns, rows)


def _decision_row(month: str, total: int, accepted: int, rejected: int) -> list:
    decided = accepted + rejected
    return [
        month,
        total,
        accepted,
        rejected,
        total - decided,
        _share(accepted, decided),
        _share(rejected, decided),
    ]


def _timeliness(months: dict) -> Figure:
    rows = [
        [month, r.reviewed, r.on_time, r.reviewed - r.on_time, _share(r.on_time, r.reviewed)]
        for month, r in months.items()
        if r.reviewed
    ]
    if rows:
        on_time, late = sum(r[2] for r in rows), sum(r[3] for r in rows)
        rows.append(["total", on_time + late, on_time, late, _share(on_time, on_time + late)])
    columns = [
        Column("month", kind="month"),
        Column("reviewed"),
        Column("on_time"),
        Column("late"),
        Column("on_time_share", kind="percent"),
    ]
    return Figure("review_timeliness", columns, rows)


def _overdue(session, where, now: datetime) -> Figure:
    now = now.astimezone(UTC)
    finished = case((Facts.review_state == "completed", Facts.review_completed_at))
    late = and_(
        where,
        Facts.review_state.is_not(None),
        Facts.review_due_at.is_not(None),
        func.coalesce(finished, now) > Facts.review_due_at,
    )
    rows = []
    for file_number, unit, region, created, due, done in session.execute(
        select(
            Facts.file_number,
            Facts.unit,
            Facts.region,
            Facts.review_created_at,
            Facts.review_due_at,
            finished,
        )
        .where(late)
        # The latest deadlines first; one deadline in the order of submission.
        .order_by(Facts.review_due_at.desc(), Facts.started_at, Facts.instance_id)
    ):
        hours = ((done or now) - due).total_seconds() / 3600
        rows.append([file_number or UNKNOWN, unit, region, created, due, done, hours])
    columns = [
        Column("file_number", kind="text"),
        Column("unit", kind="text"),
        Column("region", kind="text"),
        Column("submitted_at", kind="time"),
        Column("due_at", kind="time"),
        Column("reviewed_at", kind="time"),
        Column("hours_late", kind="hours"),
    ]
    return Figure("overdue_reviews", columns, rows)


def _stages(session, where) -> Figure:
    """Per stage, how many applications went through it, and their median and mean days
    (the median needs every value: they are read, one column per stage, in no order — the
    mean is summed exactly, `fsum`, so the order does not matter)."""
    seconds = [getattr(Facts, f"{stage}_seconds") for stage in STAGES]
    times = [[] for _ in STAGES]
    for row in session.execute(select(*seconds).where(where)):
        for values, value in zip(times, row, strict=True):
            if value is not None:
                values.append(value)
    rows = []
    for stage, values in zip(STAGES, times, strict=True):
        if values:
            median = statistics.median(values) / 86400
            rows.append([stage, len(values), median, math.fsum(values) / len(values) / 86400])
    columns = [
        Column("stage", kind="stage"),
        Column("applications"),
        Column("median_days", kind="days"),
        Column("mean_days", kind="days"),
    ]
    return Figure("stage_times", columns, rows)


def _score_sums():
    return [
        func.sum(Facts.evaluations),
        func.sum(Facts.content_sum),
        func.sum(Facts.expert_sum),
        func.sum(Facts.organisation_sum),
        func.sum(Facts.content_count),
        func.sum(Facts.expert_count),
        func.sum(Facts.organisation_count),
    ]


def _score_cells(evaluations, *sums_and_counts) -> list:
    sums, counts = sums_and_counts[:3], sums_and_counts[3:]
    return [evaluations, *(s / c if c else None for s, c in zip(sums, counts, strict=True))]


def _score_columns() -> list[Column]:
    return [
        Column("evaluations"),
        Column("content_score", kind="score"),
        Column("expert_score", kind="score"),
        Column("organisation_score", kind="score"),
    ]


def _scores_by_month(months: dict) -> Figure:
    rows = [
        [month, *_score_cells(*(getattr(r, f"score_{i}") for i in range(7)))]
        for month, r in months.items()
        if r.evaluated
    ]
    return Figure("scores_by_month", [Column("month", kind="month"), *_score_columns()], rows)


def _scores_by_expert(session, where) -> Figure:
    evaluated = and_(where, Facts.evaluations > 0)
    expert = elements(session, Facts.experts)
    rows = [
        [name, activities, *_score_cells(*sums)]
        for name, activities, *sums in session.execute(
            _grouped(evaluated, expert, func.count(), *_score_sums())
        )
    ]
    rows.sort(key=lambda row: (-row[1], row[0]))
    columns = [Column("expert", kind="text"), Column("activities"), *_score_columns()]
    return Figure("scores_by_expert", columns, rows)


def _follow_up(session, where) -> Figure:
    visit, need = elements(session, Facts.visit_methods), elements(session, Facts.needing_methods)
    visits = Counter(dict(session.execute(_grouped(where, visit, func.count())).all()))
    needs = Counter(dict(session.execute(_grouped(where, need, func.count())).all()))
    order = [m for m in METHODS if m in visits] + sorted(set(visits) - set(METHODS))
    rows = [
        [m, visits[m], needs[m], visits[m] - needs[m], _share(needs[m], visits[m])] for m in order
    ]
    if rows:
        total, need = sum(visits.values()), sum(needs.values())
        rows.append(["total", total, need, total - need, _share(need, total)])
    columns = [
        Column("method", kind="method"),
        Column("visits"),
        Column("extended_needed"),
        Column("no_extended_need"),
        Column("extended_share", kind="percent"),
    ]
    return Figure("follow_up", columns, rows)


def _extended(months: dict) -> Figure:
    rows = [
        [
            month,
            r.enterprises_needing,
            r.activities_needing,
            r.agreements,
            _share(r.agreements, r.activities_needing),
            float(r.contract_total),
        ]
        for month, r in months.items()
        if r.activities_needing
    ]
    if rows:
        sums = [sum(row[i] for row in rows) for i in (1, 2, 3, 5)]
        rows.append(["total", sums[0], sums[1], sums[2], _share(sums[2], sums[1]), sums[3]])
    columns = [
        Column("month", kind="month"),
        Column("enterprises_needing"),
        Column("activities_needing"),
        Column("agreements"),
        Column("conversion", kind="percent"),
        Column("contract_total", kind="money"),
    ]
    return Figure("extended_services", columns, rows)


def _budgets(session, where) -> Figure:
    """Per activity, the latest first; `extra["totals"]`: each column's sum."""
    amounts = [getattr(Facts, f"budget_{category}") for category in CATEGORIES]
    rows = [
        [file_number or UNKNOWN, *cells]
        for file_number, *cells in session.execute(
            select(
                Facts.file_number,
                Facts.unit,
                Facts.region,
                Facts.month,
                *amounts,
                Facts.budget_total,
            )
            .where(where, Facts.budget_total.is_not(None))
            .order_by(Facts.started_at.desc(), Facts.instance_id.desc())
        )
    ]
    columns = [
        Column("file_number", kind="text"),
        Column("unit", kind="text"),
        Column("region", kind="text"),
        Column("month", kind="month"),
        *(Column(category, header="category", kind="money") for category in CATEGORIES),
        Column("budget_total", kind="money"),
    ]
    totals = [sum(row[i] for row in rows) for i in range(4, 5 + len(CATEGORIES))]
    return Figure("budgets", columns, rows, extra={"totals": totals})
