"""SpiffWorkflow's per-task log records cost a step work though nothing shows them: the
engine sets its task and workflow loggers to WARNING (engine/spiff.py)."""

import logging


def test_steps_write_no_spiffworkflow_records_below_warning(driver, caplog, monkeypatch):
    # Whatever an earlier test configured above them, everything reaches the handler now.
    monkeypatch.setattr(logging.getLogger("spiff"), "level", logging.NOTSET)
    caplog.set_level(logging.DEBUG)
    driver.run_until("plan_survey")  # the first called process ends, the second starts
    assert driver.open_elements() == ["plan_survey"]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("spiff")] == []


def test_state_changes_are_logged_with_their_details_once_the_task_logger_takes_them(
    driver, caplog
):
    """The engine's tasks skip building a record's details only while nobody takes it."""
    caplog.set_level(logging.INFO, logger="spiff.task")
    driver.run_until("plan_survey")
    records = [r for r in caplog.records if r.name == "spiff.task"]
    assert "State changed to COMPLETED" in [r.getMessage() for r in records]
    completed = next(r for r in records if r.getMessage() == "State changed to COMPLETED")
    assert completed.workflow_spec and completed.task_spec and completed.elapsed >= 0
