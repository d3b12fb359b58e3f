"""Prometheus metrics: what the processes did (counters) and what the database holds (gauges).

- Requests, task completions, timers fired and their lateness are counted where they happen,
  and only once their transaction has committed: a step that rolls back counts nothing.
  Completions and firings are read off the audit events a committed unit of work wrote.
- Open tasks per role and waiting timers are read from the database at each scrape, so any
  web process answers for the whole installation.

One process (`dingdan serve`, `dingdan worker --metrics-port`) keeps its counters in memory.
`dingdan serve --workers N` sets PROMETHEUS_MULTIPROC_DIR for its web workers and its timer
worker, and /metrics of any of them adds up all of them (prometheus_client's multiprocess
mode). A `dingdan worker` on another machine exposes its own counters with --metrics-port.
"""

import os
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func, select

from engine import audit
from engine.models import HumanTask, Timer

CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter("dingdan_http_requests", "HTTP requests answered", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "dingdan_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_COMPLETIONS = Counter("dingdan_task_completions", "User tasks completed")
TIMERS_FIRED = Counter("dingdan_timers_fired", "Timer events fired")
TIMER_LATENESS = Histogram(
    "dingdan_timer_lateness_seconds",
    "How long after its due time a timer fired",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, float("inf")),
)


def instrument(db) -> None:
    """Count the task completions and timer firings committed through `db`'s sessions."""
    if not event.contains(db.sessions, "after_commit", _committed):
        event.listen(db.sessions, "after_commit", _committed)
        event.listen(db.sessions, "after_rollback", _rolled_back)


def _committed(session) -> None:
    for row in session.info.pop(audit.WRITTEN, []):
        if row["type"] == "task_completed":
            TASK_COMPLETIONS.inc()
        elif row["type"] == "timer_fired":
            TIMERS_FIRED.inc()
            lateness = row["data"].get("lateness_seconds")
            if lateness is not None:
                TIMER_LATENESS.observe(max(0.0, float(lateness)))


def _rolled_back(session) -> None:
    session.info.pop(audit.WRITTEN, None)


class DatabaseCollector:
    """Gauges read from the database at each scrape."""

    def __init__(self, db):
        self.db = db

    def collect(self):
        open_tasks = GaugeMetricFamily(
            "dingdan_open_tasks", "Open user tasks, by the role of their lane", labels=["role"]
        )
        waiting = GaugeMetricFamily("dingdan_timers_waiting", "Timers waiting to fire")
        overdue = GaugeMetricFamily(
            "dingdan_timers_overdue",
            "Waiting timers whose due time has passed (by the system clock): should stay near 0",
        )
        with self.db.session() as session:
            rows = session.execute(
                select(HumanTask.role, func.count())
                .where(HumanTask.state == "open")
                .group_by(HumanTask.role)
            )
            for role, count in rows:
                open_tasks.add_metric([role or ""], count)
            waiting.add_metric([], session.scalar(_waiting_timers()))
            overdue.add_metric(
                [], session.scalar(_waiting_timers().where(Timer.due_at <= datetime.now(UTC)))
            )
        yield open_tasks
        yield waiting
        yield overdue


def _waiting_timers():
    return select(func.count()).select_from(Timer).where(Timer.state == "waiting")


def exposition(db) -> bytes:
    """The text exposition: this process's counters (or, in multiprocess mode, every
    process's, added up), then the database's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(DatabaseCollector(db))
    return counters + generate_latest(gauges)
