"""The one clock the engine reads. Tests and the test-clock endpoint move a SettableClock."""

import threading
import time
from datetime import UTC, datetime


class SystemClock:
    passes = True  # time goes on by itself (a SettableClock's waits for someone to move it)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait_until(self, when: datetime, timeout: float) -> bool:
        """Sleep until `when`; whether it came within `timeout` seconds."""
        remaining = (when - self.now()).total_seconds()
        if remaining > timeout:
            time.sleep(timeout)
            return False
        while remaining > 0:
            time.sleep(remaining)
            remaining = (when - self.now()).total_seconds()
        return True


class SettableClock:
    """A clock that stands still until it is set; thread-safe, always timezone-aware UTC."""

    passes = False

    def __init__(self, start: datetime | None = None):
        self._moved = threading.Condition()
        self._now = _aware(start or datetime.now(UTC))

    def now(self) -> datetime:
        with self._moved:
            return self._now

    def set(self, when: datetime) -> None:
        with self._moved:
            self._now = _aware(when)
            self._moved.notify_all()

    def advance(self, delta) -> datetime:
        with self._moved:
            self._now = self._now + delta
            self._moved.notify_all()
            return self._now

    def wait_until(self, when: datetime, timeout: float) -> bool:
        """Wait until someone sets this clock to `when` or later; whether that happened
        within `timeout` real seconds."""
        with self._moved:
            return self._moved.wait_for(lambda: self._now >= when, timeout)


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware datetime")
    return when.astimezone(UTC)
