"""Report facts: what the figures need of each order_service application, one
`report_facts` row per instance (engine/models.py ReportFacts), so that the reports page
aggregates these rows instead of reading every application's data and task rows.

A row is worked out from the instance's stored rows — the data keys the figures need
(extracted by the database), the review task, and the time of each stage (from its first
task opening to its last one completed) — and remembers the instance's `lock_version` it
was worked out at as its `revision`. Every step raises the instance's lock_version, and
only steps change what the figures read (the instance's data, file number and task rows),
so a row whose revision differs is stale. The reports bring stale and missing rows up to
date before they count (`refresh`): a batch of rows per transaction, a few queries per
batch, instead of three queries and a write in every step's transaction; an instance that
went through ten steps since the last report is worked out once. Instances started before
the table existed (a database upgraded from revision 0004) are simply missing rows.
"""

import functools
import json
from datetime import UTC

from sqlalchemy import bindparam, case, func, literal_column, or_, select

from engine.calendar import SHANGHAI
from engine.db import insert_on_conflict
from engine.models import HumanTask, Instance, ReportFacts

from .report_figures import CATEGORIES, SCORES, STAGES, UNKNOWN

PROCESS = "order_service"
REVIEW = "review_application"
BATCH = 500  # rows refreshed per transaction
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
_COLUMNS = [c.name for c in ReportFacts.__table__.columns if c.name != "instance_id"]


def refresh(engine) -> int:
    """Bring the rows of order_service instances up to date (missing or older than their
    instance); how many were written. A transaction per BATCH; on PostgreSQL instances a
    step holds are skipped (its commit makes their row stale again anyway)."""
    with engine.db.session(read_only=True) as session:
        if _all_fresh(session):  # the usual case: a read, no write lock
            return 0
    written = 0
    while True:
        with engine.unit_of_work() as uow:
            query = _stale().limit(BATCH)
            if not engine.db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises writers
                query = query.with_for_update(of=Instance, skip_locked=True)
            ids = list(uow.session.scalars(query))
            if not ids:
                return written
            rows = _facts(uow.session, ids, engine.db.is_sqlite)
            uow.session.execute(_upsert(engine.db.engine.dialect.name), rows)
            written += len(rows)


def city(region) -> str:
    """The city of a region as applicants write it: "石家庄市 长安区" → "石家庄市"."""
    words = str(region or "").split()
    if not words:
        return UNKNOWN
    head = words[0]
    cut = head.find("市")
    return head[: cut + 1] if cut > 0 else head


# -- writing ------------------------------------------------------------------------------


def _all_fresh(session) -> bool:
    """Whether every order_service instance has a row of its current lock_version. A row's
    revision never exceeds its instance's lock_version (read under the instance's lock,
    which only grows), so equal counts and equal sums mean every row is fresh: two index
    scans, no join."""
    instances = select(func.count(), func.coalesce(func.sum(Instance.lock_version), 0)).where(
        Instance.process_key == PROCESS
    )
    rows = select(func.count(), func.coalesce(func.sum(ReportFacts.revision), 0))
    return tuple(session.execute(instances).one()) == tuple(session.execute(rows).one())


def _stale():
    """The order_service instances whose row is missing or older than the instance."""
    return (
        select(Instance.id)
        .outerjoin(ReportFacts, ReportFacts.instance_id == Instance.id)
        .where(
            Instance.process_key == PROCESS,
            or_(ReportFacts.instance_id.is_(None), ReportFacts.revision != Instance.lock_version),
        )
    )


@functools.cache
def _upsert(dialect: str):
    table = ReportFacts.__table__  # Core: an executemany, without the ORM's bulk machinery
    statement = insert_on_conflict(dialect)(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.instance_id],
        set_={name: statement.excluded[name] for name in _COLUMNS},
    )


# -- reading the stored rows --------------------------------------------------------------


def _facts(session, ids: list[str], is_sqlite: bool) -> list[dict]:
    """The report_facts rows of these instances, from their stored rows."""
    instances, reviews, stages = _queries(is_sqlite)
    params = {"ids": ids}
    found = {}
    for id_, *fields in session.execute(instances, params):
        found[id_] = _row(id_, *fields)
    for instance_id, state, *times in session.execute(reviews, params):
        if state not in ("open", "completed"):
            continue
        found[instance_id]["review_state"] = state
        for key, value in zip(("created", "due", "completed"), times, strict=True):
            found[instance_id][f"review_{key}_at"] = value.astimezone(UTC) if value else None
    for instance_id, *seconds in session.execute(stages, params):
        for stage, value in zip(STAGES, seconds, strict=True):
            found[instance_id][f"{stage}_seconds"] = float(value) if value is not None else None
    return list(found.values())


@functools.cache
def _queries(is_sqlite: bool):
    """What a row is made of, for the instances `:ids` (a list): their data, their review
    task (more than one: the latest counts), their stages' times. The task queries pick by
    tasks.instance_id, so that they read the chosen instances' tasks only."""

    def chosen(column):
        return column.in_(bindparam("ids", expanding=True))

    instances = select(
        Instance.id,
        Instance.lock_version,
        Instance.version,
        Instance.file_number,
        Instance.started_at,
        _extract(is_sqlite),
    ).where(chosen(Instance.id))
    reviews = (
        select(
            HumanTask.instance_id,
            HumanTask.state,
            HumanTask.created_at,
            HumanTask.due_at,
            HumanTask.completed_at,
        )
        .where(chosen(HumanTask.instance_id), HumanTask.element == REVIEW)
        .order_by(HumanTask.created_at)
    )
    return instances, reviews, _stage_query(chosen(HumanTask.instance_id), is_sqlite)


def _extract(is_sqlite: bool):
    """One expression giving a JSON array of the _PATHS values of a row's data."""
    if is_sqlite:
        paths = ", ".join("'$." + ".".join(path) + "'" for path in _PATHS)
        return literal_column(f"json_extract(instances.data, {paths})")
    parts = ", ".join("instances.data #> '{" + ",".join(path) + "}'" for path in _PATHS)
    return literal_column(f"CAST(json_build_array({parts}) AS TEXT)")


def _stage_query(condition, is_sqlite: bool):
    """Per application, the seconds each stage took: from its first task opening to its
    last completed. One group per instance (the instance_id index gives the order)."""
    columns = []
    for stage in STAGES:
        first = func.min(case((HumanTask.stage == stage, HumanTask.created_at)))
        last = func.max(case((HumanTask.stage == stage, HumanTask.completed_at)))
        if is_sqlite:
            columns.append((func.julianday(last) - func.julianday(first)) * 86400.0)
        else:
            columns.append(func.extract("epoch", last - first))
    # SQLite: `+state` keeps it from the (state, role) index, which would need a sort.
    completed = literal_column("+tasks.state" if is_sqlite else "tasks.state") == "completed"
    return (
        select(HumanTask.instance_id, *columns)
        .where(condition, completed)
        .group_by(HumanTask.instance_id)
    )


def _row(id_, lock_version, version, file_number, started_at, extracted) -> dict:
    values = json.loads(extracted) if extracted else [None] * len(_PATHS)
    region, unit, topics, decision, experts, evaluations, follow_ups, extended, budget = values
    row = {
        "instance_id": id_,
        "version": version,
        "started_at": started_at,
        "revision": lock_version,
        "month": started_at.astimezone(SHANGHAI).strftime("%Y-%m"),
        "region": city(region),
        "unit": str(unit or UNKNOWN),
        "file_number": file_number,
        "decision": decision if isinstance(decision, str) else None,
        "topics": list(dict.fromkeys(str(t) for t in topics)) if isinstance(topics, list) else [],
        "experts": _names(experts),
        "review_state": None,
        "review_created_at": None,
        "review_due_at": None,
        "review_completed_at": None,
        **{f"{stage}_seconds": None for stage in STAGES},
    }
    evaluations = _submissions(evaluations)
    row["evaluations"] = len(evaluations)
    for score in SCORES:
        values = [_number(e.get(score)) for e in evaluations]
        values = [value for value in values if value is not None]
        row[score.replace("_score", "_sum")] = sum(values, 0.0)
        row[score.replace("_score", "_count")] = len(values)
    visits = [
        (visit.get("method") if isinstance(visit.get("method"), str) else UNKNOWN, visit)
        for visit in _submissions(follow_ups)
    ]
    row["visit_methods"] = [method for method, _ in visits]
    row["needing_methods"] = [
        method for method, visit in visits if visit.get("extended_service_needed") is True
    ]
    row["needing"] = len(row["needing_methods"])
    row["agreed"], row["contract_price"] = False, 0.0
    if isinstance(extended, dict):
        row["agreed"] = _agreed(extended)
        row["contract_price"] = _number(extended.get("contract_price")) or 0.0
    amounts = dict.fromkeys(CATEGORIES)
    total = None
    if isinstance(budget, dict) and _number(budget.get("total")) is not None:
        amounts = dict.fromkeys(CATEGORIES, 0.0)
        for item in budget.get("items") or []:
            if isinstance(item, dict) and _number(item.get("amount")) is not None:
                category = item.get("category")
                amounts[category if category in CATEGORIES else "other"] += item["amount"]
        total = _number(budget["total"])
    row.update({f"budget_{category}": amount for category, amount in amounts.items()})
    row["budget_total"] = total
    return row


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
