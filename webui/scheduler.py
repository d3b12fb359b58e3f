"""The timer scheduler: APScheduler runs the engine's sweep exactly when the earliest known
timer falls due, and re-checks every second for timers other processes created.

Several schedulers may run against one database (`dingdan worker` on each machine, the one
of `dingdan serve`). On PostgreSQL they all sweep: each instance with a due timer is taken
with `SELECT … FOR UPDATE SKIP LOCKED` inside the transaction that fires its timers, so two
workers never step one instance, and a worker that dies mid-step loses its connection, its
transaction rolls back and the row lock — its claim — is free at once for the next sweep.
On SQLite one scheduler sweeps at a time: it holds the lease `timer-scheduler`
(engine/leases.py), renewed at every sweep; the others stand by and take over when it
lapses.

While it waits, a scheduler that sweeps reads the workflows of the instances whose timers
fall due within PREFETCH_AHEAD (engine/prefetch.py), so that at due time their steps are
all that is left to do. On PostgreSQL a burst — so many timers due at one instant that
their steps take longer than AHEAD_FROM — is stepped before that instant and committed at
it (engine/sweep.py `fire_ahead`), starting as early as the burst is expected to take,
at most AHEAD_MAX.

Each scheduler beats a heartbeat at every sweep; /healthz reports it `stale` when the last
beat is older than STALE_AFTER.
"""

import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from engine import leases, prefetch
from engine.models import Timer

log = logging.getLogger("dingdan.scheduler")
RECHECK_SECONDS = 1
STALE_AFTER = 60  # seconds without a sweep: the scheduler is stuck or gone
LEASE = "timer-scheduler"
LEASE_TTL = timedelta(seconds=15)
PREFETCH_AHEAD = timedelta(seconds=60)
AHEAD_FROM = 0.2  # seconds of steps at one instant worth stepping ahead
AHEAD_MAX = 10.0  # seconds: the longest an instance is held before its timer's instant


class Heartbeat:
    """When the scheduler last swept; also the modification time of `path`, if given, for
    the web processes of `dingdan serve --workers N` to read."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else None
        self.at: float | None = None

    def beat(self) -> None:
        self.at = time.time()
        if self.path is not None:
            try:
                self.path.touch()
            except OSError:
                log.warning("cannot touch the heartbeat file %s", self.path, exc_info=True)


def heartbeat_status(at: float | None) -> str:
    """`alive` or `stale`, for a heartbeat last beaten at `at` (a time.time())."""
    if at is None or time.time() - at > STALE_AFTER:
        return "stale"
    return "alive"


def heartbeat_file_status(path) -> str:
    try:
        return heartbeat_status(os.stat(path).st_mtime)
    except OSError:  # not written yet, or gone
        return "stale"


class TimerScheduler:
    def __init__(self, system, heartbeat_file=None):
        self.system = system
        self.engine = system.engine
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.heartbeat = Heartbeat(heartbeat_file)
        # On SQLite one scheduler sweeps; the others stand by (see the module's docstring).
        self.exclusive = system.db.is_sqlite
        self.holder = leases.new_holder()
        self.sweeping = not self.exclusive
        self.stopping = False
        self._lease_lock = threading.Lock()  # no renewal can land after shutdown's release
        self.seconds_per_timer = 0.001  # wall time of one timer's step, as last measured
        self.ahead_of: datetime | None = None  # the instant of the burst being stepped ahead

    def start(self) -> None:
        fired = self.sweep()  # what fell due while the service was down
        if fired:
            log.info("fired %d timers that fell due while the service was down", fired)
        # The read ahead is a job of its own: a long one must not hold back the re-checks.
        for job, name in ((self.sweep, "recheck"), (self.prefetch, "prefetch")):
            self.scheduler.add_job(
                job,
                "interval",
                seconds=RECHECK_SECONDS,
                id=name,
                max_instances=1,
                coalesce=True,
            )
        self.scheduler.start()
        self.engine.timer_listeners.append(self.wake_at)
        self._wake_at_next_due()

    def sweep(self) -> int:
        self.heartbeat.beat()
        try:
            if self.exclusive and not self._hold_lease():
                return 0
            began = time.monotonic()
            fired = self.engine.fire_due()
            if fired:
                took = time.monotonic() - began
                self._measured(fired, took)
                log.info("fired %d timers in %.1f s", fired, took)
            if self.scheduler.running:
                # Also the timers other processes created: found by a re-check within a
                # second, they are then fired at their due time, not up to a second after.
                self._wake_at_next_due()
        except Exception:  # keep the scheduler alive; the next sweep retries
            log.exception("timer sweep failed")
            return 0
        finally:
            self.heartbeat.beat()
        return fired

    def prefetch(self) -> int:
        """Read ahead the workflows of the timers due soon (only where this one sweeps)."""
        if not self.sweeping or self.stopping or self.ahead_of is not None:
            return 0
        try:
            began = time.monotonic()
            until = self.engine.clock.now() + PREFETCH_AHEAD
            # A burst stepped ahead takes the workflows it read: read them again it must not.
            read = prefetch.prefetch(
                self.engine, until, stopping=lambda: self.stopping or self.ahead_of is not None
            )
            if read:
                log.info("read ahead %d workflows in %.1f s", read, time.monotonic() - began)
            return read
        except Exception:  # a read ahead that failed only costs the sweep its time
            log.warning("reading ahead the workflows of due timers failed", exc_info=True)
            return 0

    def status(self) -> str:
        """For /healthz: `alive` while sweeps (or, standing by, lease checks) keep coming."""
        return heartbeat_status(self.heartbeat.at)

    def _hold_lease(self) -> bool:
        with self._lease_lock:
            if self.stopping:
                return False
            held = leases.acquire(self.system.db, LEASE, self.holder, LEASE_TTL)
        if held != self.sweeping:
            log.info("timer scheduler %s", "sweeps" if held else "stands by: another one sweeps")
        self.sweeping = held
        return held

    def wake_at(self, due: datetime, count: int = 0) -> None:
        """Run a sweep at `due` (now, if it has passed); for a burst of `count` timers due
        then, step them ahead first (see the module's docstring)."""
        if due == self.ahead_of:
            return  # under way: its instances look waiting to every other transaction
        lead = self.lead(count)
        when = max(due - timedelta(seconds=lead), datetime.now(UTC))
        job = self.scheduler.get_job("wake")
        if job is not None and job.next_run_time is not None and job.next_run_time <= when:
            return  # an earlier wake is already set; it will reschedule after it runs
        self.scheduler.add_job(
            self._wake,
            "date",
            run_date=when,
            args=[due if lead else None],
            id="wake",
            replace_existing=True,
        )

    def lead(self, count: int) -> float:
        """How many seconds before their instant to step `count` timers due at it: 0 where
        they are few, on SQLite, and with a clock that only moves when someone sets it."""
        expected = count * self.seconds_per_timer
        if self.exclusive or not self.engine.clock.passes or expected < AHEAD_FROM:
            return 0.0
        lead = min(expected, AHEAD_MAX)
        idle_limit = self.system.db.idle_in_transaction_timeout  # the wait is idle time
        return min(lead, idle_limit / 2) if idle_limit else lead

    def _wake(self, ahead_of: datetime | None) -> None:
        if ahead_of is not None and self.sweeping and not self.stopping:
            self.fire_ahead(ahead_of)
        self.sweep()  # which sets the next wake

    def fire_ahead(self, at: datetime) -> int:
        self.heartbeat.beat()
        try:
            self.ahead_of, began, stepping = at, time.monotonic(), []

            def prepared(count):
                stepping.append(time.monotonic() - began)
                log.info("stepped %d timers ahead of %s in %.1f s", count, at, stepping[0])

            fired = self.engine.fire_ahead(at, stopping=lambda: self.stopping, prepared=prepared)
            if fired:
                log.info("fired %d timers stepped ahead of %s", fired, at.isoformat())
                self._measured(fired, stepping[0])
            return fired
        except Exception:  # the sweep at `at` fires them the usual way
            log.exception("stepping timers ahead failed")
            return 0
        finally:
            self.ahead_of = None

    def _measured(self, fired: int, seconds: float) -> None:
        if fired >= 100 and seconds > 0:  # fewer say more about the start than the steps
            self.seconds_per_timer = seconds / fired

    def _wake_at_next_due(self) -> None:
        # Timers already due are the re-check's: one that cannot fire now (its instance is
        # suspended, failed, or another scheduler's) must not wake us again at once, forever.
        # The earliest instant and how many fall due at it, in one statement (an index
        # range read in due_at order that stops after the first group).
        with self.engine.unit_of_work(read_only=True) as uow:
            first = uow.session.execute(
                select(Timer.due_at, func.count())
                .where(Timer.state == "waiting", Timer.due_at > uow.now)
                .group_by(Timer.due_at)
                .order_by(Timer.due_at)
                .limit(1)
            ).first()
        if first is not None:
            self.wake_at(*first)

    def shutdown(self) -> None:
        if self.wake_at in self.engine.timer_listeners:
            self.engine.timer_listeners.remove(self.wake_at)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._lease_lock:
            self.stopping = True
            if self.exclusive and self.sweeping:
                try:
                    leases.release(self.system.db, LEASE, self.holder)  # a standby takes over
                except Exception:
                    log.warning("could not release the scheduler lease", exc_info=True)
