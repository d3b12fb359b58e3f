"""`dingdan serve --workers N` under racing and dying: real PostgreSQL, real processes.

- 100 pairs of clients race to complete the same task: exactly 100 successes and 100
  conflicts (409), no 5xx, every instance consistent.
- A web worker is SIGKILLed in the middle of a stream of completions: after a restart every
  acknowledged completion is there, none is half-applied, and the audit chains verify.
"""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from engine.models import AuditEvent, HumanTask
from webui.composition import build

from .driver import APPLICATION
from .multiprocess import WebServer, assert_consistent, metric_value
from .postgres import postgres_schema

pytestmark = pytest.mark.multiprocess

PASSWORD = "race-password"
ACCEPT = {"decision": "accept"}
REJECT = {"decision": "reject", "reason": "重复申请"}


@pytest.fixture
def database_url():
    with postgres_schema() as url:
        yield url


@pytest.fixture
def system(database_url):
    system = build(database_url)
    system.setup()
    yield system
    system.db.dispose()


def _start_applications(system, count) -> list[str]:
    """`count` applications, each waiting in review_application; their task ids."""
    applicant = system.tasks.add_user("applicant", ["applicant"])
    for _ in range(count):
        upload = system.tasks.store_file(applicant, "营业执照.pdf", "application/pdf", b"%PDF-1.4")
        data = dict(APPLICATION, qualification_documents=[upload.id])
        system.tasks.start(applicant, "order_service", data)
    with system.db.session() as session:
        return list(
            session.scalars(
                select(HumanTask.id)
                .where(HumanTask.element == "review_application", HumanTask.state == "open")
                .order_by(HumanTask.created_at, HumanTask.id)
            )
        )


def _staff(system, *names) -> None:
    for name in names:
        system.tasks.add_user(name, ["center_staff"], password=PASSWORD)


def _token(server, username) -> dict:
    response = requests.post(
        f"{server.url}/api/v1/auth/token",
        json={"username": username, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _complete(session, server, headers, task_id, data):
    return session.post(
        f"{server.url}/api/v1/tasks/{task_id}/complete",
        json={"data": data},
        headers=headers,
        timeout=60,
    )


def _completion_events(system) -> dict[str, int]:
    with system.db.session() as session:
        return dict(
            session.execute(
                select(AuditEvent.task_id, func.count())
                .where(AuditEvent.type == "task_completed")
                .group_by(AuditEvent.task_id)
            ).all()
        )


def _task_states(system, task_ids) -> dict[str, str]:
    with system.db.session() as session:
        return dict(
            session.execute(
                select(HumanTask.id, HumanTask.state).where(HumanTask.id.in_(task_ids))
            ).all()
        )


def test_100_pairs_racing_for_one_task_each_100_succeed_100_conflict(system, tmp_path):
    pairs = 100
    began = time.monotonic()
    task_ids = _start_applications(system, pairs)
    _staff(system, "staff_a", "staff_b")
    assert len(task_ids) == pairs
    server = WebServer(system.db.url, tmp_path / "serve.log", workers=4)
    try:
        tokens = [_token(server, "staff_a"), _token(server, "staff_b")]
        started = time.monotonic()
        barriers = [threading.Barrier(2) for _ in task_ids]
        outcomes = {}

        def race(pair, side):
            session = requests.Session()
            data = ACCEPT if side == 0 else REJECT
            barriers[pair].wait(timeout=60)
            try:
                response = _complete(session, server, tokens[side], task_ids[pair], data)
                outcomes[pair, side] = response.status_code
            except requests.RequestException as exc:
                outcomes[pair, side] = repr(exc)
            finally:
                session.close()

        threads = [
            threading.Thread(target=race, args=(pair, side))
            for pair in range(pairs)
            for side in (0, 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        raced = time.monotonic()
        exposition = requests.get(f"{server.url}/metrics", timeout=30).text
        health = requests.get(f"{server.url}/healthz", timeout=30)
    finally:
        server.stop()

    codes = list(outcomes.values())
    successes, conflicts = codes.count(200), codes.count(409)
    others = [c for c in codes if c not in (200, 409)]
    print(
        f"\n{pairs} pairs racing on `serve --workers 4`: {successes} successes, "
        f"{conflicts} conflicts, {len(others)} other outcomes {others[:5]}; "
        f"set-up {started - began:.1f}s, racing {raced - started:.1f}s"
    )
    assert (successes, conflicts, others) == (pairs, pairs, []), server.output()[-3000:]
    for pair in range(pairs):  # one side of every pair won
        assert sorted(outcomes[pair, side] for side in (0, 1)) == [200, 409]

    events = _completion_events(system)
    assert {task_ids[p]: events.get(task_ids[p]) for p in range(pairs)} == dict.fromkeys(
        task_ids, 1
    )
    assert set(_task_states(system, task_ids).values()) == {"completed"}
    assert assert_consistent(system) == pairs
    # Every web worker's counters, added up (prometheus_client's multiprocess mode).
    assert metric_value(exposition, "dingdan_task_completions_total") == pairs
    conflicts = {"route": "/api/v1/tasks/<task_id>/complete", "status": "409"}
    assert metric_value(exposition, "dingdan_http_requests_total", **conflicts) == pairs
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": True, "scheduler": "alive"}


def test_a_web_worker_killed_mid_stream_loses_no_acknowledged_completion(system, tmp_path):
    count, clients = 120, 4
    task_ids = _start_applications(system, count)
    _staff(system, "staff_a")
    server = WebServer(system.db.url, tmp_path / "serve.log", workers=2)
    acknowledged, failed, refused = [], [], []
    lock = threading.Lock()
    try:
        headers = _token(server, "staff_a")
        victims = server.web_workers()
        assert len(victims) == 2, victims

        def stream(share):
            session = requests.Session()
            for task_id in share:
                try:
                    response = _complete(session, server, headers, task_id, ACCEPT)
                except requests.RequestException:
                    with lock:
                        failed.append(task_id)  # in flight on the killed worker: no answer
                    session.close()
                    session = requests.Session()
                    continue
                with lock:
                    (acknowledged if response.status_code == 200 else refused).append(
                        (task_id, response.status_code)
                    )
            session.close()

        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(stream, task_ids[i::clients]) for i in range(clients)]
            while len(acknowledged) < count // 3 and not any(f.done() for f in futures):
                time.sleep(0.01)
            killed_at = len(acknowledged)
            os.kill(victims[0], signal.SIGKILL)
            for future in futures:
                future.result(timeout=120)
    finally:
        server.stop()
    assert refused == [], refused  # nothing but the kill may go wrong
    acknowledged = [task_id for task_id, _ in acknowledged]
    assert len(acknowledged) + len(failed) == count

    # Restart, then look: every acknowledged completion is there, exactly once.
    server = WebServer(system.db.url, tmp_path / "serve-again.log", workers=2)
    try:
        events = _completion_events(system)
        states = _task_states(system, task_ids)
        for task_id in acknowledged:
            assert (states[task_id], events.get(task_id)) == ("completed", 1), task_id
        applied = [t for t in failed if states[t] == "completed"]
        for task_id in failed:  # in flight when the worker died: all or nothing
            expected = ("completed", 1) if task_id in applied else ("open", None)
            assert (states[task_id], events.get(task_id)) == expected, task_id
        # Clients retry what got no answer: a conflict where it had landed, else success.
        headers = _token(server, "staff_a")
        with requests.Session() as session:
            retried = {
                t: _complete(session, server, headers, t, ACCEPT).status_code for t in failed
            }
        assert retried == {t: 409 if t in applied else 200 for t in failed}
    finally:
        server.stop()
    print(
        f"\n{count} completions from {clients} clients on `serve --workers 2`, a web worker "
        f"SIGKILLed after {killed_at} acknowledged: {len(acknowledged)} acknowledged (all "
        f"there, once), {len(failed)} unanswered ({len(applied)} had landed whole, "
        f"{len(failed) - len(applied)} not at all; retried: {sorted(retried.values())})"
    )
    assert set(_task_states(system, task_ids).values()) == {"completed"}
    assert set(_completion_events(system).values()) == {1}
    assert assert_consistent(system) == count
