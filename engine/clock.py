"""The one clock the engine reads. Tests and the test-clock endpoint move a SettableClock."""

import threading
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SettableClock:
    """A clock that stands still until it is set; thread-safe, always timezone-aware UTC."""

    def __init__(self, start: datetime | None = None):
        self._lock = threading.Lock()
        self._now = _aware(start or datetime.now(UTC))

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = _aware(when)

    def advance(self, delta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware datetime")
    return when.astimezone(UTC)
