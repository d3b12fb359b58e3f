"""The timer scheduler: APScheduler runs the engine's sweep exactly when the earliest known
timer falls due, and re-checks every second for timers other processes created."""

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from engine.models import Timer

log = logging.getLogger("dingdan.scheduler")
RECHECK_SECONDS = 1


class TimerScheduler:
    def __init__(self, system):
        self.system = system
        self.engine = system.engine
        self.scheduler = BackgroundScheduler(timezone="UTC")

    def start(self) -> None:
        fired = self.sweep()  # what fell due while the service was down
        if fired:
            log.info("fired %d timers that fell due while the service was down", fired)
        self.scheduler.add_job(
            self.sweep,
            "interval",
            seconds=RECHECK_SECONDS,
            id="recheck",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()
        self.engine.timer_listeners.append(self.wake_at)
        self._wake_at_next_due()

    def sweep(self) -> int:
        try:
            fired = self.engine.fire_due()
        except Exception:  # keep the scheduler alive; the next sweep retries
            log.exception("timer sweep failed")
            return 0
        if fired and self.scheduler.running:
            self._wake_at_next_due()
        return fired

    def wake_at(self, due: datetime) -> None:
        """Run a sweep at `due` (now, if it has passed)."""
        when = max(due, datetime.now(UTC))
        job = self.scheduler.get_job("wake")
        if job is not None and job.next_run_time is not None and job.next_run_time <= when:
            return  # an earlier wake is already set; it will reschedule after it runs
        self.scheduler.add_job(self._wake, "date", run_date=when, id="wake", replace_existing=True)

    def _wake(self) -> None:
        self.sweep()
        self._wake_at_next_due()

    def _wake_at_next_due(self) -> None:
        with self.engine.unit_of_work() as uow:
            due = uow.session.scalar(select(func.min(Timer.due_at)).where(Timer.state == "waiting"))
        if due is not None:
            self.wake_at(due)

    def shutdown(self) -> None:
        if self.wake_at in self.engine.timer_listeners:
            self.engine.timer_listeners.remove(self.wake_at)
        self.scheduler.shutdown(wait=False)
