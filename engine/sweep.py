"""The timer sweep: fire every due timer, a batch of instances per transaction.

A batch is claimed with one `SELECT … FOR UPDATE SKIP LOCKED LIMIT n` on PostgreSQL, so
workers sweeping together never wait for or step the same instance; the row locks are the
claim, and they end with the transaction — also when the process dies, which leaves its
whole batch unfired for the next sweep. On SQLite, BEGIN IMMEDIATE serialises writers and
one scheduler sweeps (webui/scheduler.py); its batches are small, since each holds the
database's write lock.

A burst due at one instant can instead be stepped ahead of it and committed at it
(`fire_ahead`, PostgreSQL; webui/scheduler.py decides when).

A batch commits once, and what its steps read — timers, stored states, the audit chains'
tails — is loaded for the whole batch (engine/batch_loads.py; process versions are parsed
once per process), or was loaded before the timers fell due (engine/prefetch.py). If any
step of a batch fails, the batch rolls back and is redone one instance per transaction:
the failing instance then fails alone (a ProcessError gives it its incident) and the
others fire. (A SAVEPOINT per instance would isolate it too, but costs every instance a
flush of its own and two more round trips: three times the sweep's time, measured.)
"""

import logging
from dataclasses import dataclass, field

from . import audit, batch_loads, due_timers, prefetch
from .errors import Conflict, ProcessError
from .models import Instance, Timer

log = logging.getLogger("dingdan.engine")

# Instances per transaction. SQLite's batch holds the write lock that web requests wait
# for, so it stays short there.
BATCH_SIZE = {"postgresql": 100, "sqlite": 10}
# Seconds past `at` that `fire_ahead` waits for the clock before it gives up.
PATIENCE = 5.0


@dataclass
class _Batch:
    claimed: bool = False
    fired: int = 0
    after: tuple | None = None  # (due_at, timer id) of the last timer claimed
    stepping: str | None = None  # the instance worked on last (one by one: the only one)
    version: int | None = None  # its lock_version when claimed
    error: Exception | None = None  # what rolled the batch back
    held: list = field(default_factory=list)  # rows the steps look up by id (batch_loads)


def fire_due(engine, now=None) -> int:
    """Fire every timer due at `now` (default: the clock, read again for each batch, so a
    long sweep records when each batch really fired); return how many fired.

    Timers are claimed in (due_at, id) order past the last one claimed, so a sweep ends
    even where a claimed instance could not fire; what was skipped goes to the next sweep.
    """
    size = BATCH_SIZE.get(engine.db.engine.dialect.name, 10)
    fired, after, redo_until = 0, None, None
    while True:
        one_by_one = redo_until is not None
        batch = _fire_batch(engine, now or engine.clock.now(), after, 1 if one_by_one else size)
        if batch.error is not None and not one_by_one:
            redo_until = batch.after  # redo what this batch claimed, one per transaction
            continue
        if batch.error is not None:
            _report(engine, batch)
        if not batch.claimed:
            return fired
        fired, after = fired + batch.fired, batch.after
        if redo_until is not None and after >= redo_until:
            redo_until = None


def _fire_batch(engine, now, after, size) -> _Batch:
    """Claim up to `size` instances with due timers and fire them in one transaction. An
    error of a step or of the commit rolls it all back and is returned in the batch."""
    batch = _Batch()
    try:
        with engine.unit_of_work(now) as uow:
            _step_batch(engine, uow, now, after, size, batch)
    except Exception as exc:
        if not batch.claimed:
            raise  # the claim itself failed (the database is gone): nothing to redo
        batch.error = exc
    return batch


def _step_batch(engine, uow, now, after, size, batch: _Batch, since=None) -> None:
    """Claim up to `size` instances with timers due at `now` (and not before `since`) and
    step them in `uow`."""
    claimed = _claim(engine, uow, now, after, size, since)
    if not claimed:
        return
    batch.claimed, batch.after = True, claimed[-1][1:]
    batch.stepping, batch.version = claimed[0][0].id, claimed[0][0].lock_version
    instances = list({row[0].id: row[0] for row in claimed}.values())
    # A statement of its own: it sees what committed after the claim's snapshot — a timer
    # another worker fired just before we took its instance is not waiting.
    timers = batch_loads.waiting_timers(uow.session, [i.id for i in instances])
    due = {t.instance_id for t in timers if t.due_at <= now}
    instances = [i for i in instances if i.id in due]
    batch.held = [timers]
    batch_loads.states(uow.session, _to_load(engine, uow, instances))
    audit.read_tails(uow.session, [i.id for i in instances])
    for instance in instances:
        batch.stepping, batch.version = instance.id, instance.lock_version
        batch.fired += engine.fire_timers(uow, instance)


def fire_ahead(engine, at, stopping=lambda: False, prepared=None, patience=PATIENCE) -> int:
    """PostgreSQL: fire the timers due at `at` in one transaction whose time is `at`,
    stepped before `at` comes and committed when the clock reaches it; return how many.

    For a burst: thousands of timers due at one instant (working-day deadlines meet at the
    close of business) take seconds to step, so a sweep at `at` would fire the last of them
    seconds late. Stepped ahead, they all show at `at`. The claim holds each instance from
    its step to the commit, so a request on one of them waits until `at` and then sees the
    timer fired, as it would have a moment later anyway. Batches are savepoints: at the
    first that fails (or once the clock reaches `at`), stepping ahead stops, and what was
    not stepped is left to the sweep at `at`, where a failing instance gets its incident.
    If the clock has not reached `at` after `patience` seconds more than it should have
    taken (a settable clock nobody moves), or the process is stopping, nothing commits: no
    timer fires early.

    Not on SQLite: its one writer would hold the write lock every request waits for.
    `prepared(n)`, if given, is told how many were stepped before the wait.
    """
    if engine.db.is_sqlite:
        return 0
    size = BATCH_SIZE["postgresql"]
    fired, after = 0, None
    try:
        with engine.unit_of_work(at) as uow:
            with engine.sweep_lock:
                while not stopping() and engine.clock.now() < at:
                    batch = _Batch()
                    if not _step_ahead(engine, uow, at, after, size, batch):
                        break
                    fired, after = fired + batch.fired, batch.after
            if prepared is not None:
                prepared(fired)
            if after is not None and stopping():
                raise _Abandoned("the process stops")  # a sweep elsewhere or later fires them
            wait = (at - engine.clock.now()).total_seconds() + patience
            if after is not None and not engine.clock.wait_until(at, wait):
                raise _Abandoned(f"the clock did not reach {at}")
    except _Abandoned as reason:
        log.warning("%d timers stepped ahead rolled back: %s", fired, reason)
        return 0
    return fired


class _Abandoned(Exception):
    """Why a transaction stepped ahead rolls back instead of committing."""


def _step_ahead(engine, uow, at, after, size, batch: _Batch) -> bool:
    """One batch of `fire_ahead` in a savepoint; whether it claimed and stepped any."""
    stepped_before = set(uow.workflows)
    savepoint = uow.session.begin_nested()
    try:
        # Only the burst: a timer due before `at` fires at its own time, not with it.
        _step_batch(engine, uow, at, after, size, batch, since=at)
        uow.write_pending()
        savepoint.commit()
    except Exception as exc:
        savepoint.rollback()
        uow.discard_pending()
        uow.forget(set(uow.workflows) - stepped_before)
        log.info("stepping timers ahead stopped at instance %s: %s", batch.stepping, exc)
        return False
    return batch.claimed


def _claim(engine, uow, now, after, size, since=None) -> list:
    """Up to `size` due timers of running instances, each with its instance — locked,
    skipping those another transaction holds (PostgreSQL)."""
    query = due_timers.due_by((Instance, Timer.due_at, Timer.id), now, after, size, since)
    query = query.execution_options(populate_existing=True)
    if not engine.db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises writers
        query = query.with_for_update(of=Instance, skip_locked=True)
    return list(uow.session.execute(query))


def _to_load(engine, uow, instances) -> list:
    """The instances whose workflow must be read from their stored state: not prefetched
    (those go into the unit of work, where the step takes them) and not cached."""
    prefetched = prefetch.store(engine)
    missing = []
    for instance in instances:
        workflow = prefetched.take(instance.id, instance.lock_version)
        if workflow is not None:
            uow.workflows[instance.id] = workflow
            uow.instances[instance.id] = instance
        elif not _cached(engine.cache, instance):
            missing.append(instance)
    return missing


def _cached(cache, instance) -> bool:
    workflow = cache.take(instance.id, instance.lock_version)
    if workflow is None:
        return False
    cache.put(instance.id, instance.lock_version, workflow)
    return True


def _report(engine, batch: _Batch) -> None:
    """The failure of one instance's own transaction: a process error is its incident
    (unless another sweep stepped the instance since, or recorded it first)."""
    instance_id, error = batch.stepping, batch.error
    if isinstance(error, ProcessError) and instance_id is not None:
        log.error("timer step of instance %s failed: %s", instance_id, error.message)
        engine.record_incident(instance_id, error, {"kind": "timer"}, batch.version)
    elif isinstance(error, Conflict):
        log.warning("timer step of instance %s skipped: %s", instance_id, error.message)
    else:  # not the process's fault (a database error): the next sweep tries again
        log.error("timer step of instance %s failed", instance_id, exc_info=error)
