import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from engine.calendar import SHANGHAI, WorkingDayCalendar


def due(y, m, d, hh=17, mm=30):
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def test_the_installed_data_matches_the_procedure_examples():
    # If a chinesecalendar release changes these, the examples below need re-checking.
    assert chinese_calendar.is_workday(date(2026, 9, 30))
    assert not any(chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert chinese_calendar.is_workday(date(2026, 10, 8))
    assert date(2026, 10, 10).weekday() == 5 and chinese_calendar.is_workday(date(2026, 10, 10))


@pytest.mark.parametrize("hour", [0, 8, 12, 17, 23])
def test_national_day_holidays_are_skipped_and_the_day_of_receipt_never_counts(hour):
    start = datetime(2026, 9, 30, hour, 0, tzinfo=SHANGHAI)
    assert WorkingDayCalendar().working_days_after(start, 1) == due(2026, 10, 8)


def test_a_make_up_saturday_is_a_working_day():
    assert WorkingDayCalendar().working_days_after(date(2026, 10, 9), 1) == due(2026, 10, 10)


def test_a_start_on_a_holiday_counts_from_the_next_working_day():
    assert WorkingDayCalendar().working_days_after(date(2026, 10, 3), 1) == due(2026, 10, 8)


def test_n_working_days_across_a_weekend():
    # Thursday 2026-11-12 → Fri 13, Mon 16, Tue 17.
    assert WorkingDayCalendar().working_days_after(date(2026, 11, 12), 3) == due(2026, 11, 17)


def test_a_utc_start_is_taken_as_the_shanghai_day():
    cal = WorkingDayCalendar()
    # 20:00Z on the 29th is 04:00 on the 30th in Shanghai.
    assert cal.working_days_after(datetime(2026, 9, 29, 20, tzinfo=ZoneInfo("UTC")), 1) == due(
        2026, 10, 8
    )
    assert cal.working_days_after("2026-09-29T20:00:00+00:00", 1) == due(2026, 10, 8)
    # 15:00Z on the 29th is still the 29th (23:00) in Shanghai.
    assert cal.working_days_after("2026-09-29T15:00:00Z", 1) == due(2026, 9, 30)


def test_naive_datetimes_dates_and_strings_are_shanghai_local():
    cal = WorkingDayCalendar()
    for start in (
        datetime(2026, 9, 30, 23, 59),
        date(2026, 9, 30),
        "2026-09-30",
        "2026-09-30T09:15",
    ):
        assert cal.working_days_after(start, 1) == due(2026, 10, 8)


def test_the_result_is_aware_and_the_iso_form_carries_the_offset():
    cal = WorkingDayCalendar()
    assert cal.working_days_after(date(2026, 9, 30), 1).tzinfo == SHANGHAI
    assert cal.working_days_after_iso(date(2026, 9, 30), 1) == "2026-10-08T17:30:00+08:00"


def test_close_of_business_and_time_zone_are_configurable():
    cal = WorkingDayCalendar(close_of_business=time(17, 0), tz=ZoneInfo("UTC"))
    assert cal.working_days_after_iso("2026-09-30", 1) == "2026-10-08T17:00:00+00:00"


def test_overrides_make_a_saturday_working_and_a_monday_a_holiday():
    # Friday 2026-11-13; plainly the next working days are Mon 16 and Tue 17.
    cal = WorkingDayCalendar(overrides={date(2026, 11, 14): True, date(2026, 11, 16): False})
    assert cal.is_working_day(date(2026, 11, 14))
    assert not cal.is_working_day(date(2026, 11, 16))
    assert cal.working_days_after(date(2026, 11, 13), 1) == due(2026, 11, 14)
    assert cal.working_days_after(date(2026, 11, 13), 2) == due(2026, 11, 17)


@pytest.mark.parametrize("n", [0, -1])
def test_n_must_be_at_least_one(n):
    with pytest.raises(ValueError):
        WorkingDayCalendar().working_days_after(date(2026, 9, 30), n)


def test_has_official_data():
    cal = WorkingDayCalendar()
    assert cal.has_official_data(2026)
    assert not cal.has_official_data(2027)
    assert not cal.has_official_data(2003)
    assert cal.fallback_years() == set()


def test_year_end_into_a_year_without_data_falls_back_to_monday_to_friday(caplog):
    cal = WorkingDayCalendar()
    with caplog.at_level(logging.WARNING, logger="dingdan.calendar"):
        # Friday 2027-01-01 is a weekday, so the fallback counts it (the official 2027
        # schedule will almost certainly make it New Year's Day; an override fixes that).
        assert cal.working_days_after(date(2026, 12, 31), 1) == due(2027, 1, 1)
        assert cal.working_days_after(date(2026, 12, 31), 5) == due(2027, 1, 7)
        assert cal.fallback_years() == {2027}
    warnings = [r for r in caplog.records if r.name == "dingdan.calendar"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].getMessage() == (
        "no official holiday data for 2027; treating Monday–Friday as working days"
    )


def test_the_fallback_warns_once_per_year_per_calendar(caplog):
    with caplog.at_level(logging.WARNING, logger="dingdan.calendar"):
        for cal in (WorkingDayCalendar(), WorkingDayCalendar()):
            cal.is_working_day(date(2027, 3, 1))
            cal.is_working_day(date(2027, 3, 2))
            cal.is_working_day(date(2028, 3, 1))
    assert [r.args for r in caplog.records] == [(2027,), (2028,)] * 2


def test_an_override_moves_the_year_end_deadline_past_the_fallback():
    cal = WorkingDayCalendar(overrides={date(2027, 1, 1): False})
    assert cal.working_days_after(date(2026, 12, 31), 1) == due(2027, 1, 4)
    assert cal.fallback_years() == {2027}


def test_a_calendar_with_no_working_days_gives_up_instead_of_looping():
    start = date(2026, 1, 1)
    everything_off = {start + timedelta(days=i): False for i in range(1, 4000)}
    with pytest.raises(ValueError, match="no working day"):
        WorkingDayCalendar(overrides=everything_off).working_days_after(start, 1)
