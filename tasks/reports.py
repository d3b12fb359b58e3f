"""Reports: how well the order-based service performs (issue 11), counted from one row of
facts per application (tasks/report_facts.py: what the figures need of its data and task
rows, brought up to date before each report); nothing else is written.

Every figure is a table (`Figure`: column keys and rows of plain values); the web layer
names the columns, formats the cells, draws the charts and writes the CSV from it.

What the figures count, where PROCEDURE.md leaves room:
- An application belongs to the month (Asia/Shanghai) it was submitted; the period filter
  and every "per month" figure use that month.
- Its region is the city of the application's `region` (text up to the first 市 of its first
  word: "石家庄市 长安区" → "石家庄市"); a region without 市 counts as its first word.
- A review is on time when its task was completed by its due time (one working day, set by
  the engine's working-day calendar); the overdue list holds the late ones and those still
  open past their due time.
- A stage's time, per application: from the first task of that stage opening to the last
  one completed (waits for the activity day or the follow-up date fall between tasks).
- An evaluation rates the activity as a whole: each of its experts is credited with it.
- An extended service converted when `arrange_extended_service` records an agreement (a
  contract price, signing date or agreement file).

Speed: every figure is counted by the database from the facts rows of its filters (an index
range of the period), a row per group; Python sees only the groups, the two lists and the
stage times (for their medians). First a page asks how many rows the period has and the sum
of their revisions (a row rewritten has a higher one): a report is reused (per
process, `Reports` being one per app) while neither moved within the same minute (the
overdue hours count in minutes' steps), so the charts and CSVs that follow a page are not
recounted.
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, exists, func, select, true

from engine.calendar import SHANGHAI
from engine.errors import Forbidden, InvalidData
from engine.models import ProcessVersion, ReportFacts

from . import report_facts
from .report_facts import PROCESS
from .report_figures import FIGURES, Figure, count, elements, topic_order
from .roles import Actor

READER_ROLES = frozenset({"center_head", "division_head", "auditor"})


def may_read(actor: Actor | None) -> bool:
    return actor is not None and bool(actor.roles & READER_ROLES)


@dataclass(frozen=True)
class Filters:
    start: date | None = None  # first day of the period (application submitted on or after)
    end: date | None = None  # last day, inclusive
    region: str | None = None  # a city, as `city` gives it
    topic: str | None = None
    version: int | None = None  # the order_service version the instance runs on

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> "Filters":
        """From a query string (`start`, `end` as YYYY-MM-DD or YYYY-MM, `region`, `topic`,
        `version`); InvalidData names every bad one."""
        errors, values = {}, {}
        for key, last in (("start", False), ("end", True)):
            raw = (args.get(key) or "").strip()
            if raw:
                try:
                    values[key] = _day(raw, last)
                except ValueError:
                    errors[key] = "a date YYYY-MM-DD or a month YYYY-MM"
        for key in ("region", "topic"):
            raw = (args.get(key) or "").strip()
            if raw:
                values[key] = raw[:200]
        raw = (args.get("version") or "").strip()
        if raw:
            if raw.isdigit() and 0 < int(raw) < 10**6:
                values["version"] = int(raw)
            else:
                errors["version"] = "a version number"
        if values.get("start") and values.get("end") and values["start"] > values["end"]:
            errors["end"] = "not before the start"
        if errors:
            raise InvalidData("invalid report filters", fields=errors)
        return cls(**values)

    def query_args(self) -> dict[str, str]:
        args = {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "region": self.region,
            "topic": self.topic,
            "version": str(self.version) if self.version else None,
        }
        return {key: value for key, value in args.items() if value}


def _day(raw: str, last: bool) -> date:
    if len(raw) == 7:  # a month: its first or last day
        first = date.fromisoformat(raw + "-01")
        if not last:
            return first
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return date.fromisoformat(raw)


@dataclass
class Report:
    filters: Filters
    figures: dict[str, Figure]
    regions: list[str]  # the filter's choices: every region in the period
    topics: list[str]
    versions: list[int]
    instances: int  # applications the figures count


class Reports:
    """The figures, for those who may read them (READER_ROLES). Keep one per process: it
    remembers its latest reports (MAX_REPORTS)."""

    MAX_REPORTS = 32

    def __init__(self, engine):
        self.engine = engine
        self._reports: dict[tuple, Report] = {}
        self._lock = threading.Lock()

    def report(self, actor: Actor, filters: Filters) -> Report:
        """Every figure. The same filters on unchanged applications within the same minute
        give the same report: the page's charts and CSVs that follow it are not recounted."""
        if not may_read(actor):
            raise Forbidden("only the center head, the division head and auditors read reports")
        report_facts.refresh(self.engine)
        period = _period(filters)
        with self.engine.db.session(read_only=True) as session:
            # One snapshot: the rows counted are the rows the state describes.
            state = tuple(
                session.execute(
                    select(func.count(), func.coalesce(func.sum(ReportFacts.revision), 0)).where(
                        period
                    )
                ).one()
            )
            now = self.engine.clock.now()
            key = (filters, state, now.replace(second=0, microsecond=0))
            with self._lock:
                found = self._reports.get(key)
            if found is None:
                found = _count(session, filters, period, now)
                with self._lock:
                    if len(self._reports) >= self.MAX_REPORTS:
                        self._reports.pop(next(iter(self._reports)))
                    self._reports[key] = found
            versions = list(
                session.scalars(
                    select(ProcessVersion.version)
                    .where(ProcessVersion.key == PROCESS)
                    .order_by(ProcessVersion.version)
                )
            )
        return replace(found, versions=versions)

    def figure(self, actor: Actor, key: str, filters: Filters) -> Figure:
        if key not in FIGURES:
            raise KeyError(key)
        return self.report(actor, filters).figures[key]


def _count(session, filters: Filters, period, now: datetime) -> Report:
    """The report of the filters: the choices of region and topic are the period's."""
    regions = sorted(session.scalars(select(ReportFacts.region).where(period).distinct()))
    topic = elements(session, ReportFacts.topics)
    topics = session.scalars(select(topic).select_from(ReportFacts).where(period).distinct())
    topics = sorted(topics, key=topic_order)
    chosen = and_(period, *_narrowing(session, filters))
    instances = session.scalar(select(func.count()).select_from(ReportFacts).where(chosen))
    return Report(filters, count(session, chosen, now), regions, topics, [], instances)


def _period(filters: Filters):
    """The facts rows of the filters' period and process version."""
    conditions = []
    if filters.start:
        conditions.append(ReportFacts.started_at >= _utc_midnight(filters.start))
    if filters.end:
        conditions.append(ReportFacts.started_at < _utc_midnight(filters.end + timedelta(1)))
    if filters.version:
        conditions.append(ReportFacts.version == filters.version)
    return and_(true(), *conditions)


def _narrowing(session, filters: Filters) -> list:
    """The region and topic filters, within the period."""
    conditions = []
    if filters.region:
        conditions.append(ReportFacts.region == filters.region)
    if filters.topic:
        topic = elements(session, ReportFacts.topics)
        conditions.append(exists(select(topic).where(topic == filters.topic)))
    return conditions


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)
