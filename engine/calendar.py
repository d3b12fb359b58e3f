"""Working-day calendar for deadlines (PROCEDURE.md, "Deadlines and the working-day calendar").

A period of N working days ends at close of business of the Nth working day after the day of
receipt; the day of receipt never counts. Working days come from admin overrides first, then
the State Council schedule in `chinese_calendar`, then a Monday–Friday fallback for years the
package has no data for (the next year's schedule is only published each November).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Ten years of consecutive days off can only be a misconfiguration (e.g. every day overridden).
MAX_DAYS_SCANNED = 3660

log = logging.getLogger("dingdan.calendar")


class WorkingDayCalendar:
    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        close_of_business: time = time(17, 30),
        tz: ZoneInfo = SHANGHAI,
    ) -> None:
        # Copied so a later change to the caller's mapping cannot shift deadlines silently.
        self.overrides: dict[date, bool] = dict(overrides or {})
        self.close_of_business = close_of_business
        self.tz = tz
        self._fallback_years: set[int] = set()

    def has_official_data(self, year: int) -> bool:
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            d = d.date()
        if d in self.overrides:
            return self.overrides[d]
        try:
            return chinese_calendar.is_workday(d)
        except NotImplementedError:
            self._use_fallback(d.year)
            return d.weekday() < 5

    def fallback_years(self) -> set[int]:
        return set(self._fallback_years)

    def working_days_after(self, start: datetime | date | str, n: int) -> datetime:
        if n < 1:
            raise ValueError(f"a period must be at least one working day, got {n}")
        day = self._local_day(start)
        for _ in range(MAX_DAYS_SCANNED):
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
                if n == 0:
                    return datetime.combine(day, self.close_of_business, tzinfo=self.tz)
        raise ValueError(
            f"no working day found within {MAX_DAYS_SCANNED} days after {start!r}; "
            "check the calendar overrides"
        )

    def working_days_after_iso(self, start: datetime | date | str, n: int) -> str:
        return self.working_days_after(start, n).isoformat()

    def _local_day(self, start: datetime | date | str) -> date:
        # The day of receipt is the day in the service centre's time zone, not the sender's.
        if isinstance(start, str):
            start = datetime.fromisoformat(start)
        if isinstance(start, datetime):
            return start.astimezone(self.tz).date() if start.tzinfo else start.date()
        return start

    def _use_fallback(self, year: int) -> None:
        # Warn once per year, not once per day looked up, so the log stays readable.
        if year not in self._fallback_years:
            self._fallback_years.add(year)
            log.warning(
                "no official holiday data for %d; treating Monday–Friday as working days", year
            )
