"""File numbers DD-YYYY-NNNN: unique and gap-free per year, even when accepts race."""

import threading
from datetime import datetime

import pytest

from engine.errors import ProcessError
from engine.runtime import Engine

from .driver import SHANGHAI


def _start_many(driver, count):
    ids = []
    for _ in range(count):
        driver.start()
        ids.append(driver.task("review_application").id)
    return ids


def test_racing_accepts_get_consecutive_numbers(driver):
    task_ids = _start_many(driver, 6)
    staff = driver.actors["center_staff"]
    barrier = threading.Barrier(len(task_ids))
    errors = []

    def accept(task_id):
        barrier.wait()
        try:
            driver.tasks.complete(staff, task_id, {"decision": "accept"})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=accept, args=(t,)) for t in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    numbers = sorted(
        n.text.rsplit("：", 1)[1] for n in _all_notices(driver) if "服务档案编号" in n.text
    )
    assert numbers == [f"DD-2026-{i:04d}" for i in range(1, 7)]


def _all_notices(driver):
    from sqlalchemy import select

    from engine.models import Notice

    with driver.system.engine.unit_of_work() as uow:
        return list(uow.session.scalars(select(Notice)))


def test_a_failed_accept_gives_its_number_back(driver, monkeypatch):
    first, second = _start_many(driver, 2)
    staff = driver.actors["center_staff"]
    real_notify = Engine._notify

    def failing_notify(self, *args):
        raise ProcessError("end_accepted: the notice could not be written")

    monkeypatch.setattr(Engine, "_notify", failing_notify)
    with pytest.raises(ProcessError):
        driver.tasks.complete(staff, first, {"decision": "accept"})
    monkeypatch.setattr(Engine, "_notify", real_notify)

    driver.tasks.complete(staff, second, {"decision": "accept"})
    assert driver.instance().file_number == "DD-2026-0001"
    # The failed instance waits for staff; its retry takes the next number, no gap.
    [failed] = driver.system.operations.failed(staff)
    driver.system.operations.retry(staff, failed.id)
    driver.instance_id = failed.id
    assert driver.instance().file_number == "DD-2026-0002"


def test_numbers_start_again_each_year(driver):
    driver.start()
    driver.complete("review_application")
    driver.clock.set(datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI))
    driver.start()
    driver.complete("review_application")
    assert driver.instance().file_number == "DD-2027-0001"
