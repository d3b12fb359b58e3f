"""Times read back from SQLite are aware and in UTC, however its text has them (SQLite
keeps no zone; engine/models.py UtcDateTime reads the text in one step)."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, select, text

from engine.models import UtcDateTime


@pytest.mark.parametrize(
    "stored, expected",
    [
        ("2026-10-08 09:30:00.000000", datetime(2026, 10, 8, 9, 30, tzinfo=UTC)),
        ("2026-10-08 09:30:00", datetime(2026, 10, 8, 9, 30, tzinfo=UTC)),
        ("2026-10-08 09:30:00.250000", datetime(2026, 10, 8, 9, 30, 0, 250000, tzinfo=UTC)),
        ("2026-10-08 17:30:00+08:00", datetime(2026, 10, 8, 9, 30, tzinfo=UTC)),
        (None, None),
    ],
)
def test_sqlite_text_reads_as_an_aware_utc_time(tmp_path, stored, expected):
    engine = create_engine(f"sqlite:///{tmp_path / 'times.sqlite3'}")
    table = Table("times", MetaData(), Column("at", UtcDateTime))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO times (at) VALUES (:at)"), {"at": stored})
    with engine.connect() as connection:
        read = connection.execute(select(table.c.at)).scalar_one()
    engine.dispose()
    assert read == expected
    assert read is None or read.tzinfo is UTC


@pytest.mark.parametrize(
    "written, stored",
    [
        (datetime(2026, 10, 8, 9, 30, tzinfo=UTC), "2026-10-08 09:30:00.000000"),
        (datetime(2026, 10, 8, 9, 30, 0, 250, tzinfo=UTC), "2026-10-08 09:30:00.000250"),
        # an aware time of another zone is stored as the same instant in UTC
        (
            datetime(2026, 10, 8, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
            "2026-10-08 09:30:00.000000",
        ),
        (
            datetime(2026, 10, 8, 1, 30, tzinfo=timezone(timedelta(hours=-8))),
            "2026-10-08 09:30:00.000000",
        ),
        (None, None),
    ],
)
def test_sqlite_stores_a_time_as_utc_text_in_sqlalchemys_format(tmp_path, written, stored):
    """The text is SQLAlchemy's DATETIME format (what rows written before hold, and what
    comparisons in SQL order by), of the instant in UTC; it reads back as that instant."""
    engine = create_engine(f"sqlite:///{tmp_path / 'times.sqlite3'}")
    table = Table("times", MetaData(), Column("at", UtcDateTime))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(table.insert(), {"at": written})
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT at FROM times")).scalar_one()
        read = connection.execute(select(table.c.at)).scalar_one()
    engine.dispose()
    assert raw == stored
    assert read == written


def test_a_naive_time_is_refused(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'times.sqlite3'}")
    table = Table("times", MetaData(), Column("at", UtcDateTime))
    table.metadata.create_all(engine)
    naive = datetime(2026, 10, 8, 9, 30)
    with pytest.raises(Exception, match="naive datetimes"), engine.begin() as connection:
        connection.execute(table.insert(), {"at": naive})
    engine.dispose()
