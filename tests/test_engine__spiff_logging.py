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
