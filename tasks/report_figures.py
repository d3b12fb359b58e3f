"""The figures of the reports (tasks/reports.py reads the applications; what each figure
counts is said there): each a table of plain values, `Figure`, with its columns' keys and
kinds; the web layer names and formats them. `count` makes every figure at once."""

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

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


@dataclass
class Application:
    """What the figures need of one application, worked out once: an ended application
    never changes, so these are kept (per process) until its row's lock_version moves."""

    id: str
    file_number: str | None
    started_at: datetime
    month: str
    region: str
    unit: str
    topics: tuple
    decision: str | None
    experts: tuple
    evaluations: int = 0
    score_sums: tuple = (0.0, 0.0, 0.0)
    score_counts: tuple = (0, 0, 0)
    visits: dict = field(default_factory=dict)  # method -> [visits, extended needed]
    needing: int = 0  # enterprises whose follow-up asks for an extended service
    agreed: bool = False
    contract_price: float = 0.0
    budget: tuple | None = None  # the amounts per CATEGORIES, then the total
    # The review task: (state, created_at, due_at, completed_at), and seconds per stage.
    review: tuple | None = None
    stage_seconds: dict = field(default_factory=dict)


def topic_order(topic: str):
    return (TOPICS.index(topic), "") if topic in TOPICS else (len(TOPICS), topic)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _months(applications) -> list[str]:
    return sorted({a.month for a in applications})


def count(applications: list[Application], now: datetime) -> dict[str, Figure]:
    """Every figure of these applications (in the order they were submitted) at `now`."""
    return {
        "applications_by_region": _by_region(applications),
        "applications_by_topic": _by_topic(applications),
        "decisions": _decisions(applications),
        "review_timeliness": _timeliness(applications),
        "overdue_reviews": _overdue(applications, now),
        "stage_times": _stages(applications),
        "scores_by_month": _scores_by_month(applications),
        "scores_by_expert": _scores_by_expert(applications),
        "follow_up": _follow_up(applications),
        "extended_services": _extended(applications),
        "budgets": _budgets(applications),
    }


# -- the figures ------------------------------------------------------------------------------


def _by_region(applications) -> Figure:
    regions = sorted({a.region for a in applications})
    counts = Counter((a.month, a.region) for a in applications)
    rows = []
    for month in _months(applications):
        cells = [counts[(month, region)] for region in regions]
        rows.append([month, *cells, sum(cells)])
    columns = [Column("month", kind="month")]
    columns += [Column(region, header="region") for region in regions]
    columns.append(Column("applications"))
    return Figure("applications_by_region", columns, rows)


def _by_topic(applications) -> Figure:
    topics = sorted({t for a in applications for t in a.topics}, key=topic_order)
    counts = Counter((a.month, t) for a in applications for t in a.topics)
    totals = Counter(a.month for a in applications)
    rows = [
        [month, *(counts[(month, t)] for t in topics), totals[month]]
        for month in _months(applications)
    ]
    columns = [Column("month", kind="month")]
    columns += [Column(topic, header="topic") for topic in topics]
    columns.append(Column("applications"))
    return Figure("applications_by_topic", columns, rows)


def _decisions(applications) -> Figure:
    counts = defaultdict(Counter)
    for application in applications:
        counts[application.month][application.decision] += 1
    rows = []
    for month in sorted(counts):
        rows.append(_decision_row(month, counts[month]))
    if rows:
        rows.append(_decision_row("total", sum(counts.values(), Counter())))
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


def _decision_row(month: str, counts: Counter) -> list:
    accepted, rejected = counts["accept"], counts["reject"]
    total = sum(counts.values())
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


def _timeliness(applications) -> Figure:
    done = defaultdict(lambda: [0, 0])  # month -> [on time, late]
    for application in applications:
        review = application.review
        if review is None or review[0] != "completed" or review[3] is None:
            continue
        on_time = review[2] is None or review[3] <= review[2]
        done[application.month][0 if on_time else 1] += 1
    rows = []
    for month in sorted(done):
        on_time, late = done[month]
        rows.append([month, on_time + late, on_time, late, _share(on_time, on_time + late)])
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


def _overdue(applications, now: datetime) -> Figure:
    rows = []
    for application in applications:
        if application.review is None:
            continue
        state, created, due, completed = application.review
        if due is None:
            continue
        finished = completed if state == "completed" else None
        if (finished or now) <= due:
            continue
        rows.append(
            [
                application.file_number or UNKNOWN,
                application.unit,
                application.region,
                created,
                due,
                finished,
                ((finished or now) - due).total_seconds() / 3600,
            ]
        )
    rows.sort(key=lambda row: row[4], reverse=True)  # the latest deadlines first
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


def _stages(applications) -> Figure:
    times = defaultdict(list)
    for application in applications:
        for stage, seconds in application.stage_seconds.items():
            times[stage].append(seconds)
    rows = []
    for stage in STAGES:
        values = times.get(stage)
        if values:
            median = statistics.median(values) / 86400
            rows.append([stage, len(values), median, sum(values) / len(values) / 86400])
    columns = [
        Column("stage", kind="stage"),
        Column("applications"),
        Column("median_days", kind="days"),
        Column("mean_days", kind="days"),
    ]
    return Figure("stage_times", columns, rows)


def _score_cells(sums: list, counts: list, evaluations: int) -> list:
    return [evaluations, *(s / c if c else None for s, c in zip(sums, counts, strict=True))]


def _score_columns() -> list[Column]:
    return [
        Column("evaluations"),
        Column("content_score", kind="score"),
        Column("expert_score", kind="score"),
        Column("organisation_score", kind="score"),
    ]


def _add_scores(into: list, application: Application) -> None:
    sums, counts = application.score_sums, application.score_counts
    into[0] += application.evaluations
    into[1] += sums[0]
    into[2] += sums[1]
    into[3] += sums[2]
    into[4] += counts[0]
    into[5] += counts[1]
    into[6] += counts[2]


def _score_row(label, into: list, *before) -> list:
    return [label, *before, *_score_cells(into[1:4], into[4:7], into[0])]


def _scores_by_month(applications) -> Figure:
    per_month = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0, 0, 0])
    for application in applications:
        if application.evaluations:
            _add_scores(per_month[application.month], application)
    rows = [_score_row(month, into) for month, into in sorted(per_month.items())]
    return Figure("scores_by_month", [Column("month", kind="month"), *_score_columns()], rows)


def _scores_by_expert(applications) -> Figure:
    per_expert = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0, 0, 0])
    activities = Counter()
    for application in applications:
        if not application.evaluations:
            continue
        for name in application.experts:
            activities[name] += 1
            _add_scores(per_expert[name], application)
    rows = [_score_row(name, into, activities[name]) for name, into in per_expert.items()]
    rows.sort(key=lambda row: (-row[1], row[0]))
    columns = [Column("expert", kind="text"), Column("activities"), *_score_columns()]
    return Figure("scores_by_expert", columns, rows)


def _follow_up(applications) -> Figure:
    visits, needs = Counter(), Counter()
    for application in applications:
        for method, (count, need) in application.visits.items():
            visits[method] += count
            needs[method] += need
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


def _extended(applications) -> Figure:
    per_month = defaultdict(lambda: [0, 0, 0, 0.0])  # enterprises, activities, agreed, price
    for application in applications:
        if not application.needing:
            continue
        cells = per_month[application.month]
        cells[0] += application.needing
        cells[1] += 1
        if application.agreed:
            cells[2] += 1
            cells[3] += application.contract_price
    rows = [
        [month, e, a, g, _share(g, a), price]
        for month, (e, a, g, price) in sorted(per_month.items())
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


def _budgets(applications) -> Figure:
    """Per activity, the latest first; `extra["totals"]`: each column's sum."""
    rows = [
        [a.file_number or UNKNOWN, a.unit, a.region, a.month, *a.budget]
        for a in reversed(applications)
        if a.budget is not None
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
