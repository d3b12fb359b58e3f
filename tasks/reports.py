"""Reports: how well the order-based service performs (issue 11), computed from the stored
instances and their task rows — no tables of their own, nothing written.

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

Speed: an application is read once — the JSON fields the figures need, extracted by the
database (SQLite parses each row's data once), its review task, and its stage times grouped
by the database — and kept (per process, `Reports` being one per app) until its row's
lock_version moves; each page then reads only the ids and lock_versions of its period, and
the applications that changed. A report is reused while none of them changed within the
same minute (the overdue hours count in minutes' steps).
"""

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal_column, select

from engine.calendar import SHANGHAI
from engine.errors import Forbidden, InvalidData
from engine.models import HumanTask, Instance, ProcessVersion

from .report_figures import (
    CATEGORIES,
    FIGURES,
    SCORES,
    STAGES,
    UNKNOWN,
    Application,
    Figure,
    count,
    topic_order,
)
from .roles import Actor

PROCESS = "order_service"
READER_ROLES = frozenset({"center_head", "division_head", "auditor"})
REVIEW = "review_application"
# The instance data each figure needs, in this order (JSON paths under `data`).
_PATHS = (
    ("application", "region"),
    ("application", "unit_name"),
    ("application", "topics"),
    ("review_application", "decision"),
    ("select_experts", "experts"),
    ("evaluate_service",),
    ("follow_up_visit",),
    ("arrange_extended_service",),
    ("prepare_budget",),
)


def may_read(actor: Actor | None) -> bool:
    return actor is not None and bool(actor.roles & READER_ROLES)


def city(region) -> str:
    """The city of a region as applicants write it: "石家庄市 长安区" → "石家庄市"."""
    words = str(region or "").split()
    if not words:
        return UNKNOWN
    head = words[0]
    cut = head.find("市")
    return head[: cut + 1] if cut > 0 else head


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
    remembers what it worked out of each application (MAX_CACHED at most)."""

    MAX_CACHED = 200_000
    MAX_REPORTS = 32
    BATCH = 500

    def __init__(self, engine):
        self.engine = engine
        self._cache: dict[str, tuple[int, Application]] = {}
        self._reports: dict[tuple, Report] = {}
        self._lock = threading.Lock()

    def report(self, actor: Actor, filters: Filters) -> Report:
        """Every figure. The same filters on unchanged applications within the same minute
        give the same report: the page's charts and CSVs that follow it are not recounted."""
        if not may_read(actor):
            raise Forbidden("only the center head, the division head and auditors read reports")
        with self.engine.db.session(read_only=True) as session:
            loaded, state = self._applications(session, filters)
            versions = list(
                session.scalars(
                    select(ProcessVersion.version)
                    .where(ProcessVersion.key == PROCESS)
                    .order_by(ProcessVersion.version)
                )
            )
        now = self.engine.clock.now()
        key = (filters, state, now.replace(second=0, microsecond=0))
        with self._lock:
            found = self._reports.get(key)
        if found is None:
            found = self._count(filters, loaded, now)
            with self._lock:
                if len(self._reports) >= self.MAX_REPORTS:
                    self._reports.pop(next(iter(self._reports)))
                self._reports[key] = found
        return replace(found, versions=versions)

    def figure(self, actor: Actor, key: str, filters: Filters) -> Figure:
        if key not in FIGURES:
            raise KeyError(key)
        return self.report(actor, filters).figures[key]

    def _count(self, filters: Filters, loaded: list, now: datetime) -> Report:
        regions = sorted({a.region for a in loaded})
        topics = sorted({t for a in loaded for t in a.topics}, key=topic_order)
        chosen = [a for a in loaded if _matches(a, filters)]
        return Report(filters, count(chosen, now), regions, topics, [], len(chosen))

    # -- queries ----------------------------------------------------------------------------

    def _applications(self, session, filters: Filters) -> tuple[list[Application], int]:
        """The applications of the period and version, in the order they were submitted:
        from the cache, and what it lacks (or holds at an older lock_version) read now;
        with a digest of every (id, lock_version) they were read at."""
        current = session.execute(
            select(Instance.id, Instance.lock_version)
            .where(self._instance_filter(filters))
            .order_by(Instance.started_at, Instance.id)
        ).all()
        with self._lock:
            cached = {i: self._cache.get(i) for i, _ in current}
        missing = {i: v for i, v in current if cached[i] is None or cached[i][0] != v}
        if missing:
            fresh = self._read(session, filters, missing)
            with self._lock:
                if len(self._cache) + len(fresh) > self.MAX_CACHED:
                    self._cache.clear()
                for application in fresh:
                    entry = (missing[application.id], application)
                    self._cache[application.id] = cached[application.id] = entry
        state = hash(tuple(current))
        return [cached[i][1] for i, _ in current if cached.get(i)], state

    def _read(self, session, filters: Filters, missing: dict[str, int]) -> list[Application]:
        if len(missing) > self.BATCH * 4:  # most of them: one pass over the period instead
            return [
                a
                for a in self._read_where(session, self._instance_filter(filters))
                if a.id in missing
            ]
        ids, found = list(missing), []
        for start in range(0, len(ids), self.BATCH):
            found += self._read_where(session, Instance.id.in_(ids[start : start + self.BATCH]))
        return found

    def _read_where(self, session, condition) -> list[Application]:
        query = select(
            Instance.id, Instance.file_number, Instance.started_at, self._extract()
        ).where(condition)
        found = {}
        for id_, file_number, started_at, extracted in session.execute(query):
            found[id_] = _application(id_, file_number, started_at, extracted)
        for row in session.execute(
            select(
                HumanTask.instance_id,
                HumanTask.state,
                HumanTask.created_at,
                HumanTask.due_at,
                HumanTask.completed_at,
            )
            .join(Instance, Instance.id == HumanTask.instance_id)
            .where(condition, HumanTask.element == REVIEW)
            .where(HumanTask.state.in_(("open", "completed")))
        ):
            if row.instance_id in found:
                found[row.instance_id].review = tuple(row[1:])
        for instance_id, *seconds in session.execute(self._stage_query(condition)):
            if instance_id in found:
                found[instance_id].stage_seconds = {
                    stage: float(value)
                    for stage, value in zip(STAGES, seconds, strict=True)
                    if value is not None
                }
        return list(found.values())

    def _instance_filter(self, filters: Filters):
        conditions = [Instance.process_key == PROCESS]
        if filters.start:
            conditions.append(Instance.started_at >= _utc_midnight(filters.start))
        if filters.end:
            conditions.append(Instance.started_at < _utc_midnight(filters.end + timedelta(1)))
        if filters.version:
            conditions.append(Instance.version == filters.version)
        return and_(*conditions)

    def _extract(self):
        """One expression giving a JSON array of the _PATHS values of a row's data."""
        if self.engine.db.is_sqlite:
            paths = ", ".join("'$." + ".".join(path) + "'" for path in _PATHS)
            return literal_column(f"json_extract(instances.data, {paths})")
        parts = ", ".join("instances.data #> '{" + ",".join(path) + "}'" for path in _PATHS)
        return literal_column(f"CAST(json_build_array({parts}) AS TEXT)")

    def _stage_query(self, condition):
        """Per application, the seconds each stage took: from its first task opening to its
        last completed. One group per instance (the instance_id index gives the order)."""
        sqlite = self.engine.db.is_sqlite
        columns = []
        for stage in STAGES:
            first = func.min(case((HumanTask.stage == stage, HumanTask.created_at)))
            last = func.max(case((HumanTask.stage == stage, HumanTask.completed_at)))
            if sqlite:
                columns.append((func.julianday(last) - func.julianday(first)) * 86400.0)
            else:
                columns.append(func.extract("epoch", last - first))
        # SQLite: `+state` keeps it from the (state, role) index, which would need a sort.
        completed = literal_column("+tasks.state" if sqlite else "tasks.state") == "completed"
        return (
            select(HumanTask.instance_id, *columns)
            .join(Instance, Instance.id == HumanTask.instance_id)
            .where(condition, completed)
            .group_by(HumanTask.instance_id)
        )


def _application(id_, file_number, started_at, extracted) -> Application:
    values = json.loads(extracted) if extracted else [None] * len(_PATHS)
    region, unit, topics, decision, experts, evaluations, follow_ups, extended, budget = values
    application = Application(
        id=id_,
        file_number=file_number,
        started_at=started_at,
        month=started_at.astimezone(SHANGHAI).strftime("%Y-%m"),
        region=city(region),
        unit=str(unit or UNKNOWN),
        topics=tuple(dict.fromkeys(str(t) for t in topics)) if isinstance(topics, list) else (),
        decision=decision if isinstance(decision, str) else None,
        experts=tuple(_names(experts)),
    )
    sums, counts = [0.0, 0.0, 0.0], [0, 0, 0]
    evaluations = _submissions(evaluations)
    for evaluation in evaluations:
        for index, key in enumerate(SCORES):
            value = _number(evaluation.get(key))
            if value is not None:
                sums[index] += value
                counts[index] += 1
    application.evaluations = len(evaluations)
    application.score_sums, application.score_counts = tuple(sums), tuple(counts)
    for visit in _submissions(follow_ups):
        method = visit.get("method") if isinstance(visit.get("method"), str) else UNKNOWN
        cells = application.visits.setdefault(method, [0, 0])
        cells[0] += 1
        if visit.get("extended_service_needed") is True:
            cells[1] += 1
            application.needing += 1
    if isinstance(extended, dict):
        application.agreed = _agreed(extended)
        application.contract_price = _number(extended.get("contract_price")) or 0.0
    if isinstance(budget, dict) and _number(budget.get("total")) is not None:
        amounts = dict.fromkeys(CATEGORIES, 0.0)
        for item in budget.get("items") or []:
            if isinstance(item, dict) and _number(item.get("amount")) is not None:
                category = item.get("category")
                amounts[category if category in CATEGORIES else "other"] += item["amount"]
        application.budget = (*amounts.values(), _number(budget["total"]))
    return application


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)


def _matches(application: Application, filters: Filters) -> bool:
    if filters.region and application.region != filters.region:
        return False
    return not (filters.topic and filters.topic not in application.topics)


def _names(experts) -> list[str]:
    if not isinstance(experts, list):
        return []
    names = (str(e.get("name") or "").strip() for e in experts if isinstance(e, dict))
    return list(dict.fromkeys(name for name in names if name))


def _submissions(items) -> list[dict]:
    """The data of each per-enterprise submission ({"subject", "data"})."""
    if not isinstance(items, list):
        return []
    return [i["data"] for i in items if isinstance(i, dict) and isinstance(i.get("data"), dict)]


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _agreed(extended: dict) -> bool:
    price = _number(extended.get("contract_price"))
    return bool(
        (price is not None and price > 0)
        or extended.get("signed_date")
        or extended.get("agreement_file")
    )
