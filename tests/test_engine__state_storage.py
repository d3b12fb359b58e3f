"""A step stores only the tasks that changed (the JSON of finished tasks is kept from the
step that finished them); what it stores is still exactly the workflow the engine had."""

import json

import pytest

from engine import runtime
from engine.spiff import SERIALIZER, state_from_json, state_to_json, state_to_json_incremental


@pytest.fixture
def checked_steps(monkeypatch):
    """Every engine step, held against the workflow it leaves in memory: the stored text is
    the full serialisation of that workflow, and reloading it gives that workflow back."""
    steps = []
    step = runtime.Engine._step

    def checked(self, uow, instance, workflow, *args, **kwargs):
        fired = step(self, uow, instance, workflow, *args, **kwargs)
        in_memory = SERIALIZER.to_dict(workflow)  # not state_to_json: it resets the writer
        assert json.loads(instance.state) == in_memory
        version = uow.session.get(runtime.ProcessVersion, instance.process_version_id)
        spec, subprocess_specs = self._specs_for(version)
        reloaded = state_from_json(instance.state, spec, subprocess_specs, self.script_engine)
        assert SERIALIZER.to_dict(reloaded) == in_memory
        steps.append(instance.id)
        return fired

    monkeypatch.setattr(runtime.Engine, "_step", checked)
    return steps


def test_every_step_of_a_full_run_stores_exactly_the_workflow_in_memory(driver, checked_steps):
    driver.run_to_activity()
    driver.run_from_activity_to_follow_up()
    driver.complete_all("follow_up_visit")
    driver.complete("archive_file")
    assert driver.instance().status == "archived"
    assert len(checked_steps) >= 25  # the start, every completion and both timers


def test_send_back_loops_store_exactly_too(driver, checked_steps):
    driver.run_until("confirm_service_design")
    for _ in range(3):
        driver.complete("confirm_service_design", {"decision": "revise", "comments": "再改"})
        driver.complete("design_service", {"content": "融资与法务", "mode": "consulting"})
    driver.complete("confirm_service_design")
    driver.run_until("review_content")
    driver.complete("review_content", {"decision": "revise", "comments": "请补充案例"})
    driver.complete_all("submit_outline", {"topic": "修订版", "outline": "含案例"})
    driver.complete("review_content")
    assert driver.open_elements() == ["assign_coordinators"]
    assert len(checked_steps) >= 20


def test_the_plain_serialisation_starts_the_incremental_one_afresh(driver):
    driver.run_until("plan_survey")
    engine = driver.system.engine
    with engine.unit_of_work() as uow:
        workflow = engine.workflow(uow, engine.lock(uow, driver.instance_id))
        first = state_to_json_incremental(workflow)
        for task in workflow.get_tasks():  # changed behind the engine's back …
            task.data["changed"] = True
        assert json.loads(state_to_json(workflow)) != json.loads(first)
        # … and after a plain serialisation the incremental one sees it too
        assert json.loads(state_to_json_incremental(workflow)) == json.loads(
            state_to_json(workflow)
        )
        uow.workflows.clear()  # read only
