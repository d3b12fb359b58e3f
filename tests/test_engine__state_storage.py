"""A step stores only the tasks that changed (the JSON of finished tasks is kept from the
step that finished them, and long runs of them are frozen into segments); what it stores
is still exactly the workflow the engine had."""

import json
import sys
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import projection, runtime, state_store
from engine.models import HumanTask, Instance, StateSegment
from engine.spiff import SERIALIZER, WRITERS, state_to_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from run import LOOP_BPMN  # noqa: E402


@pytest.fixture
def checked_steps(monkeypatch):
    """Every engine step, held against the workflow it leaves in memory: the stored text is
    the full serialisation of that workflow, and reloading it gives that workflow back."""
    steps = []
    step = runtime.Engine._step

    def checked(self, uow, instance, workflow, *args, **kwargs):
        fired = step(self, uow, instance, workflow, *args, **kwargs)
        in_memory = SERIALIZER.to_dict(workflow)  # not state_to_json: it resets the writer
        uow.session.flush()  # the segments this step froze, for the read below
        assert state_store.stored_state(uow.session, instance) == in_memory
        spec, subprocess_specs = self._specs_for(uow.session, instance.process_version_id)
        reloaded = state_store.load(uow.session, instance, spec, subprocess_specs, None)
        assert SERIALIZER.to_dict(reloaded) == in_memory
        assert_tables_of_unfinished_tasks_exact(workflow)
        assert_tables_of_unfinished_tasks_exact(reloaded)
        # what the next step takes as the rows' showing is what the workflow shows
        left, shown = projection.before_step(workflow), projection.Projected(reloaded)
        assert (left.open, left.timers) == (shown.open, shown.timers)
        projection.left_by_step(workflow, left)
        steps.append(instance.id)
        return fired

    monkeypatch.setattr(runtime.Engine, "_step", checked)
    return steps


def assert_tables_of_unfinished_tasks_exact(workflow):
    """The engine's workflows answer from a table of their unfinished tasks
    (engine/fast_tasks.py): it holds every one of them and no finished task (a step
    would otherwise look through the whole history)."""
    for wf in [workflow, *workflow.subprocesses.values()]:
        unfinished = [i for i, t in wf.tasks.items() if not t._state & TaskState.FINISHED_MASK]
        assert sorted(wf.tasks.live) == sorted(unfinished)


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
        first = stored(workflow)
        for task in workflow.get_tasks():  # changed behind the engine's back …
            task.data["changed"] = True
        assert json.loads(state_to_json(workflow)) != json.loads(first)
        # … and after a plain serialisation the incremental one sees it too
        assert json.loads(stored(workflow)) == json.loads(state_to_json(workflow))
        uow.workflows.clear()  # read only


def test_data_beyond_json_is_stored_as_spiffworkflow_converts_it(driver):
    """A workflow's data and a task's internal data of plain JSON values are written as
    they are; a time, a function or a module in them (a script can leave them) go
    SpiffWorkflow's way: the time as its converter's dict, the function and the module
    left out — in the top workflow, a called process and a task alike."""
    import math
    from datetime import UTC, datetime

    driver.run_until("plan_survey")
    engine = driver.system.engine
    with engine.unit_of_work() as uow:
        workflow = engine.workflow(uow, engine.lock(uow, driver.instance_id))
        sub = next(s for s in workflow.subprocesses.values() if not s.completed)
        task = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.data)
        held = [workflow.data, sub.data, task.internal_data]
        for data in held:
            data.update(when=datetime(2026, 10, 8, 9, 30, tzinfo=UTC), tool=len, lib=math)
        whole = json.loads(stored(workflow))
        assert whole == json.loads(state_to_json(workflow))
        tables = [whole] + list(whole["subprocesses"].values())
        written = [
            whole["data"],
            whole["subprocesses"][str(sub.parent_task_id)]["data"],
            next(t for table in tables for i, t in table["tasks"].items() if i == task.id)[
                "internal_data"
            ],
        ]
        for data in written:
            assert data["when"]["typename"] == "datetime" and "tool" not in data
            assert "lib" not in data
        for data in held:
            for key in ("when", "tool", "lib"):
                del data[key]
        assert json.loads(stored(workflow)) == json.loads(state_to_json(workflow))
        uow.workflows.clear()  # read only


def test_a_long_loop_stores_its_history_once_in_segments(system, checked_steps, monkeypatch):
    """Round after round the instance row holds only what is still open; the finished
    rounds go to segments, written once; a fresh read puts them back in place."""
    monkeypatch.setattr(state_store, "SEGMENT_BYTES", 8192)  # more segments in fewer rounds
    engine = system.engine
    with engine.unit_of_work() as uow:
        engine.deploy(uow, {"bench_loop.bpmn": LOOP_BPMN}, "tester")
        instance_id = engine.start(uow, "bench_loop", {}, "tester").id
    row_sizes = []
    for round_ in range(120):
        if round_ == 60:
            engine.cache.drop(instance_id)  # the next step reads the segments back
        with engine.unit_of_work() as uow:
            instance = engine.lock(uow, instance_id)
            task = uow.session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == instance_id, HumanTask.state == "open"
                )
            ).one()
            engine.complete(uow, instance, task.id, {"again": round_ < 119}, "tester")
            row_sizes.append(len(instance.state))
    with engine.unit_of_work(read_only=True) as uow:
        instance = uow.session.get(Instance, instance_id)
        assert instance.status == "archived"
        whole = state_store.stored_state(uow.session, instance)
        segments = uow.session.scalars(
            select(StateSegment).where(StateSegment.instance_id == instance_id)
        ).all()
    assert len(checked_steps) == 121
    assert len(whole["tasks"]) > 240  # two tasks a round at least, all of them there
    assert len(segments) >= 3
    assert sum(s["tasks"] for s in json.loads(instance.state)["segments"]) > 200
    # The row stays about one segment long while the history grows past three.
    assert max(row_sizes) < 2 * state_store.SEGMENT_BYTES
    assert sum(len(s.text) for s in segments) > 3 * state_store.SEGMENT_BYTES


def stored(workflow) -> str:
    """What a step would store now, by the workflow's own writer (no segment due yet)."""
    text, frozen = WRITERS.setdefault(workflow, state_store.StateWriter()).write(workflow)
    assert frozen == []
    return text


def test_a_writer_whose_front_moved_writes_the_whole_state_again(monkeypatch):
    """Never expected (no finished task is ever removed), but if one were, the segments
    would no longer fit: the writer drops them and freezes the history afresh."""
    from SpiffWorkflow.util.task import TaskState

    from engine.fast_tasks import FastWorkflow
    from engine.spiff import new_parser

    monkeypatch.setattr(state_store, "SEGMENT_BYTES", 2048)
    parser = new_parser()
    parser.add_bpmn_str(LOOP_BPMN.encode())
    workflow = FastWorkflow(parser.get_spec("bench_loop"))
    workflow.do_engine_steps()
    writer = state_store.StateWriter()
    frozen = {}
    for _ in range(30):
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data["loop_work"] = {"again": True}
        task.run()
        workflow.do_engine_steps()
        text, new = writer.write(workflow)
        frozen.update(new)
    before = json.loads(text)["segments"]
    first_finished = next(t for t in workflow.tasks.values() if t.state == TaskState.COMPLETED)
    workflow.tasks.pop(first_finished.id)  # a task of the first segment goes away
    text, new = writer.write(workflow)
    frozen.update(new)
    after = json.loads(text)["segments"]
    assert new and not {s["id"] for s in before} & {s["id"] for s in after}
    whole = json.loads(text)
    tasks = {}
    for segment in whole.pop("segments"):
        tasks.update(json.loads(frozen[segment["id"]]))
    whole["tasks"] = {**tasks, **whole["tasks"]}
    assert whole == SERIALIZER.to_dict(workflow)


def test_a_stored_state_reads_back_as_spiffworkflow_itself_reads_it(driver):
    """The engine reads tasks back with its own converter (engine/spiff.py); every task it
    makes equals, attribute for attribute, what SpiffWorkflow's converter makes of the same
    text — its ids the canonical text of SpiffWorkflow's UUIDs (engine/fast_tasks.py), its
    data a copy of its parent's, changed as stored."""
    from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    from engine import spiff

    driver.run_to_activity()  # called processes ended and running, per-item tasks, a timer
    engine = driver.system.engine
    reference = spiff._StateConverter(BpmnWorkflow, spiff._make_serializer(TaskConverter).registry)
    with engine.unit_of_work(read_only=True) as uow:
        instance = uow.session.get(Instance, driver.instance_id)
        spec, subprocess_specs = engine._specs_for(uow.session, instance.process_version_id)
        ours = state_store.load(uow.session, instance, spec, subprocess_specs, None)
        theirs = reference.from_state(
            state_store.stored_state(uow.session, instance), spec, subprocess_specs
        )
    pairs = [(ours, theirs)] + [
        (ours.subprocesses[str(key)], sub) for key, sub in theirs.subprocesses.items()
    ]
    assert len(pairs) > 2
    for mine, spiffs in pairs:
        assert list(mine.tasks) == [str(task_id) for task_id in spiffs.tasks]
        assert mine.last_task is not None or spiffs.last_task is None
        if mine.last_task is not None:
            assert mine.last_task.id == str(spiffs.last_task.id)
        for task_id, expected in spiffs.tasks.items():
            task = mine.tasks[str(task_id)]
            assert type(task.id) is str and task.id == str(expected.id)
            assert task._parent == (None if expected._parent is None else str(expected._parent))
            assert task._children == [str(child) for child in expected._children]
            # one object an id: a parent or child looked up is found by identity
            assert task._parent is None or task._parent is mine.tasks[task._parent].id
            assert all(child is mine.tasks[child].id for child in task._children)
            assert all(key is t.id for key, t in mine.tasks.items())
            for name in ("_state", "last_state_change", "triggered", "data", "internal_data"):
                assert getattr(task, name) == getattr(expected, name), name
            parent = task.parent
            if parent is not None and task.data:
                assert task.data is not parent.data
                for key, value in task.data.items():  # mutable values copied, as DeepMerge does
                    if isinstance(value, (dict, list)) and key in parent.data:
                        assert value is not parent.data[key], key


def test_new_task_ids_are_random_uuids_in_their_canonical_text():
    """A task id is written into the state, the task rows and the API's URLs as the
    canonical text of a version-4 UUID, whatever digits chance gives."""
    from uuid import RFC_4122, UUID

    from engine.fast_tasks import new_task_id

    ids = [new_task_id() for _ in range(4000)]
    assert len(set(ids)) == len(ids)
    for task_id in ids:
        parsed = UUID(task_id)
        assert str(parsed) == task_id
        assert parsed.version == 4 and parsed.variant == RFC_4122
    # every variant digit (8, 9, a, b) turns up: its two low bits are random
    assert {task_id[19] for task_id in ids} == set("89ab")


SCRIPTED_TIME = (Path(__file__).parent / "diagrams" / "scripted_time.bpmn").read_bytes()


def test_a_time_a_script_puts_in_task_data_is_stored_and_read_back(system):
    """The sandbox offers `datetime` to scripts; a time in task data is stored as
    SpiffWorkflow's to_json writes it (the registry's dict) and comes back a time."""
    from datetime import datetime

    engine = system.engine
    with engine.unit_of_work() as uow:
        engine.deploy(uow, {"scripted_time.bpmn": SCRIPTED_TIME}, "tester")
        instance_id = engine.start(uow, "scripted_time", {}, "tester").id
    engine.cache.drop(instance_id)  # the next step reads the stored state
    with engine.unit_of_work() as uow:
        task_id = uow.session.scalars(
            select(HumanTask.id).where(HumanTask.instance_id == instance_id)
        ).one()
        row, instance = engine.lock_task(uow, task_id)
        assert "datetime" in instance.state
        task = engine.workflow(uow, instance).get_task_from_id(task_id)
        assert task.data["when"] == datetime(2026, 1, 2, 3, 4)
        engine.complete(uow, instance, row.id, {"done": True}, "tester")
    with engine.unit_of_work() as uow:
        assert engine.lock(uow, instance_id).status == "archived"
