"""On SQLite a completion loads the task's workflow before its write transaction, into the
engine's cache: a step another process takes in between must still be seen."""

from sqlalchemy import select

from engine.models import Instance
from webui.composition import build

from .driver import DEFAULTS


def test_a_step_taken_in_between_is_not_lost(driver, database_url, clock):
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    first, second, _ = driver.open_tasks("fill_questionnaire")
    staff = driver.actors["center_staff"]
    driver.system.tasks._load_ahead(first.id)  # this process has read the instance ahead

    other = build(database_url, clock=clock)  # another process steps it in between
    try:
        answers = {"industry": "服务业", "main_problems": "用工难"}
        other.tasks.complete(staff, second.id, answers)
    finally:
        other.db.dispose()

    driver.system.tasks.complete(staff, first.id, DEFAULTS["fill_questionnaire"])
    driver.check_round_trip()
    # The workflow knows the second questionnaire is done: the third is the last one.
    driver.complete("fill_questionnaire")
    assert driver.open_elements() == ["site_survey"]
    with driver.system.engine.unit_of_work(read_only=True) as uow:
        data = uow.session.scalar(select(Instance.data).where(Instance.id == driver.instance_id))
    entries = {e["subject"]: e["data"] for e in data["fill_questionnaire"]}
    assert entries[second.subject] == answers
