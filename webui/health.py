"""`/healthz` and `/metrics`, and the request counters behind them.

/healthz answers 200 `{"status": "ok", "database": true, "scheduler": …}` or 503 with
`"status": "degraded"` when the database does not answer or this installation's scheduler
has stopped sweeping. `scheduler` is `alive`, `stale`, or `not running here` (a process
without a scheduler of its own: the timer workers are checked on their own).
/metrics is the Prometheus text exposition (webui/metrics.py). Neither needs signing in;
neither tells anything but counts.
"""

import os
import time

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import text

from . import metrics
from .scheduler import heartbeat_file_status

bp = Blueprint("health", __name__)
SCHEDULER_EXTENSION = "dingdan.scheduler"  # set by `dingdan serve` to its TimerScheduler
HEARTBEAT_ENV = "DINGDAN_SCHEDULER_HEARTBEAT"  # set by `dingdan serve --workers N`


def _system():
    return current_app.extensions["dingdan"]


@bp.record_once
def _instrument(state) -> None:
    metrics.instrument(state.app.extensions["dingdan"].db)


@bp.before_app_request
def _started() -> None:
    g.dingdan_started = time.perf_counter()


@bp.after_app_request
def _count(response):
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    metrics.REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    started = g.get("dingdan_started")
    if started is not None:
        metrics.REQUEST_SECONDS.labels(request.method, route).observe(time.perf_counter() - started)
    return response


@bp.get("/healthz")
def healthz():
    database = database_reachable(_system().db)
    scheduler = scheduler_status()
    healthy = database and scheduler != "stale"
    body = {"status": "ok" if healthy else "degraded", "database": database, "scheduler": scheduler}
    return jsonify(body), 200 if healthy else 503


@bp.get("/metrics")
def metrics_view():
    return Response(metrics.exposition(_system().db), content_type=metrics.CONTENT_TYPE)


def database_reachable(db) -> bool:
    try:
        with db.session(read_only=True) as session:  # on SQLite, no wait for the write lock
            session.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any failure to answer is "not reachable"
        current_app.logger.warning("health check: the database does not answer: %s", exc)
        return False


def scheduler_status() -> str:
    scheduler = current_app.extensions.get(SCHEDULER_EXTENSION)
    if scheduler is not None:
        return scheduler.status()
    path = os.environ.get(HEARTBEAT_ENV)
    if path:
        return heartbeat_file_status(path)
    return "not running here"
