"""Times read back from SQLite are aware and in UTC, however its text has them (SQLite
keeps no zone; engine/models.py UtcDateTime reads the text in one step)."""

from datetime import UTC, datetime

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
