"""The timer scheduler: APScheduler runs the engine's sweep, never sleeping past a due timer."""

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("dingdan.scheduler")
# Timers created by other processes are noticed within this interval.
RECHECK = timedelta(seconds=1)


class TimerScheduler:
    def __init__(self, system):
        self.system = system
        self.scheduler = BackgroundScheduler(timezone="UTC")

    def start(self) -> None:
        fired = self.system.engine.fire_due()  # what fell due while we were down
        if fired:
            log.info("fired %d timers that fell due while the service was down", fired)
        self.scheduler.add_job(
            self.sweep,
            "interval",
            seconds=RECHECK.total_seconds(),
            id="sweep",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()

    def sweep(self) -> int:
        try:
            return self.system.engine.fire_due()
        except Exception:  # keep the scheduler alive; the next sweep retries
            log.exception("timer sweep failed")
            return 0

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
