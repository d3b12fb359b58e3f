"""Dates, date-times (with a UTC offset, always) and phone numbers."""

from pathlib import Path

import pytest

from forms import FormRegistry, FormValidationError

FORMS_DIR = Path(__file__).resolve().parents[1] / "processes" / "forms"


@pytest.fixture(scope="module")
def registry():
    return FormRegistry.from_directory(FORMS_DIR)


def letter(activity_date):
    return {"activity_date": activity_date, "venue": "会议室", "programme": "讲座"}


def field_errors(form, data):
    try:
        form.validate(data)
    except FormValidationError as error:
        return error.fields
    return {}


@pytest.mark.parametrize(
    "value",
    [
        "2026-10-20T09:00:00+08:00",
        "2026-10-20T01:00:00Z",
        "2026-10-20T09:00+08:00",
        "2026-10-20T09:00:00.250-05:00",
    ],
)
def test_date_time_with_offset_is_accepted(registry, value):
    assert field_errors(registry.get("official_letter"), letter(value)) == {}


@pytest.mark.parametrize(
    "value",
    [
        "2026-10-20T09:00:00",  # no offset: which 9 o'clock?
        "2026-10-20T09:00",
        "2026-10-20",
        "2026-10-20 09:00:00+08:00",
        "2026-02-30T09:00:00+08:00",
        "2026-10-20T25:00:00+08:00",
        "tomorrow morning",
    ],
)
def test_date_time_without_offset_or_malformed_is_refused(registry, value):
    assert field_errors(registry.get("official_letter"), letter(value)) == {
        "activity_date": "must be a date-time with a UTC offset"
    }


def test_date_time_must_be_text(registry):
    assert field_errors(registry.get("official_letter"), letter(20261020)) == {
        "activity_date": "must be a text"
    }


def plan(survey_date):
    return {"enterprises": [{"name": "甲公司"}], "survey_date": survey_date}


@pytest.mark.parametrize("value", ["2026-10-12", "2028-02-29"])
def test_date_is_accepted(registry, value):
    assert field_errors(registry.get("survey_plan"), plan(value)) == {}


@pytest.mark.parametrize(
    "value", ["2026-02-29", "2026-13-01", "2026-10-12T09:00:00+08:00", "12/10/2026", "20261012"]
)
def test_malformed_date_is_refused(registry, value):
    assert field_errors(registry.get("survey_plan"), plan(value)) == {
        "survey_date": "must be a date (YYYY-MM-DD)"
    }


@pytest.mark.parametrize(
    "value",
    ["0311-86012345", "13800138000", "+86 138 0013 8000", "(0311) 8601 2345 转 801", "12345"],
)
def test_phone_numbers_as_clerks_write_them(registry, value):
    data = {"enterprises": [{"name": "甲公司", "phone": value}], "survey_date": "2026-10-12"}
    assert field_errors(registry.get("survey_plan"), data) == {}


@pytest.mark.parametrize("value", ["王丽", "1234", "0311-8601234a", ""])
def test_not_a_phone_number(registry, value):
    data = {"enterprises": [{"name": "甲公司", "phone": value}], "survey_date": "2026-10-12"}
    assert field_errors(registry.get("survey_plan"), data) == {
        "enterprises.0.phone": "must be a phone number"
    }
