"""Archiving refuses an incomplete file and names what is missing."""

import pytest
from sqlalchemy import delete

from engine.models import Document, StoredFile
from tasks.service import IncompleteFile

from .driver import ENTERPRISES


def _to_archive(driver):
    driver.run_to_activity()
    driver.run_from_activity_to_follow_up()
    driver.complete_all("follow_up_visit")
    assert driver.open_elements() == ["archive_file"]


def _remove(driver, statement):
    with driver.system.engine.unit_of_work() as uow:
        uow.session.execute(statement)


def test_archive_is_refused_naming_each_missing_record_and_nothing_changes(driver):
    _to_archive(driver)
    instance_id = driver.instance_id
    _remove(driver, delete(Document).where(Document.instance_id == instance_id))
    _remove(driver, delete(StoredFile).where(StoredFile.instance_id == instance_id))
    events_before = driver.event_count()

    with pytest.raises(IncompleteFile) as error:
        driver.complete("archive_file")

    missing = [d["missing"] for d in error.value.details]
    assert missing == ["申请单位资质材料", "订单式服务公函"]
    assert "Official letter" in error.value.fields["missing"]
    assert driver.instance().status == "running"
    assert driver.open_elements() == ["archive_file"]
    assert driver.event_count() == events_before


def test_archive_names_the_enterprise_whose_evaluation_is_missing(driver):
    _to_archive(driver)
    # An evaluation lost from the record (e.g. entered on paper only).
    with driver.system.engine.unit_of_work() as uow:
        from engine.models import Instance

        instance = uow.session.get(Instance, driver.instance_id)
        data = dict(instance.data)
        data["evaluate_service"] = [
            e for e in data["evaluate_service"] if e["subject"] != ENTERPRISES[2]
        ]
        instance.data = data
    with pytest.raises(IncompleteFile) as error:
        driver.complete("archive_file")
    assert [d["missing"] for d in error.value.details] == [
        f"订单式服务企业评价意见表：{ENTERPRISES[2]}"
    ]
