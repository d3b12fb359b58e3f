"""Full procedure runs: bare SpiffWorkflow in memory vs. the engine with persistence.

Both run the shipped diagrams with the same script engine, the same data and the same
order of completions (three enterprises, two experts); the ratio of their throughputs is
what persistence costs. Usage: python benchmarks/procedure.py [--runs N] [--database URL]
"""

import argparse
import copy
import gc
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import driver_sql, projection  # noqa: E402
from engine.calendar import WorkingDayCalendar  # noqa: E402
from engine.clock import SettableClock  # noqa: E402
from engine.scripting import DingdanScriptEngine, StepContext, current_step  # noqa: E402
from engine.spiff import new_parser  # noqa: E402
from webui.composition import PROCESSES_DIR, build  # noqa: E402

NOW = datetime(2026, 10, 28, 2, 0, tzinfo=UTC)  # after the activity and follow-up dates
ENTERPRISES = ["甲公司", "乙公司", "丙公司"]
EXPERTS = [{"name": "张教授"}, {"name": "刘律师"}]
# (element, data) in the order the procedure reaches them; per-item tasks once per item.
STEPS = [
    ("review_application", {"decision": "accept"}),
    (
        "plan_survey",
        {"enterprises": [{"name": n} for n in ENTERPRISES], "survey_date": "2026-10-12"},
    ),
    *[("fill_questionnaire", {"industry": "制造业"})] * 3,
    ("site_survey", {}),
    ("design_service", {"content": "讲座"}),
    ("confirm_service_design", {"decision": "agree"}),
    ("select_experts", {"experts": EXPERTS}),
    *[("submit_outline", {"topic": "融资"})] * 2,
    ("review_content", {"decision": "pass"}),
    ("assign_coordinators", {}),
    ("prepare_budget", {"items": [{"category": "venue", "amount": 100}], "total": 100}),
    ("approve_budget_division", {"decision": "approve"}),
    ("approve_budget_center", {"decision": "approve"}),
    ("issue_official_letter", {"activity_date": "2026-10-20T09:00:00+08:00", "venue": "会议室"}),
    ("record_activity", {"served_enterprises": [{"name": n} for n in ENTERPRISES]}),
    *[("evaluate_service", {"content_score": 5})] * 3,
    ("track_activity", {}),
    *[("follow_up_visit", {"extended_service_needed": False})] * 3,
    ("archive_file", {}),
]
START_DATA = {"unit_name": "石家庄市中小企业局"}


def bare_runs(runs: int, settings) -> float:
    """In memory: no database, so the file number is a constant and the calendar fixed.
    Returns the CPU seconds the runs took (what they cost this process, whatever else the
    machine runs meanwhile)."""
    script_engine = DingdanScriptEngine(SettableClock(NOW), settings)
    script_engine.environment.globals["next_file_number"] = lambda prefix: "DD-2026-0001"
    calendar = WorkingDayCalendar()
    parser = new_parser()
    parser.add_bpmn_files(sorted(str(p) for p in PROCESSES_DIR.glob("*.bpmn")))
    spec = parser.get_spec("order_service")
    subprocess_specs = parser.get_subprocess_specs("order_service")
    started = time.process_time()
    for _ in range(runs):
        token = current_step.set(StepContext(None, NOW, lambda session: calendar))
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data["application"] = START_DATA
        workflow.do_engine_steps()
        for element, data in STEPS:
            task = next(
                t
                for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                if t.task_spec.bpmn_id == element
            )
            mi = projection.multi_instance_parent(task)
            task.data[mi.output_item.bpmn_id if mi else element] = copy.deepcopy(data)
            task.run()
            workflow.do_engine_steps()
        assert workflow.is_completed()
        current_step.reset(token)
    return time.process_time() - started


def engine_runs(runs: int, system) -> float:
    """The same through the engine on its database (in-process SQLite by default: its
    work counts as this process's CPU time); returns the CPU seconds."""
    engine = system.engine
    started = time.process_time()
    for _ in range(runs):
        with engine.unit_of_work() as uow:
            instance_id = engine.start(uow, "order_service", START_DATA, "applicant").id
        for element, data in STEPS:
            assert complete_open(engine, instance_id, element, copy.deepcopy(data))
        with engine.unit_of_work() as uow:
            assert engine.lock(uow, instance_id).status == "archived"
    return time.process_time() - started


def complete_open(engine, instance_id: str, element: str, data: dict) -> bool:
    """Complete the instance's open task `element` (the first, for a per-item task) as the
    API does, by its id (`lock_task`, then `complete`); False when it has none open. The id
    is what a client has from its inbox: here one indexed read in the step's transaction."""
    with engine.unit_of_work() as uow:
        task_id = _open_task_id(uow.session, instance_id, element)
        if task_id is None:
            return False
        row, instance = engine.lock_task(uow, task_id)
        engine.complete(uow, instance, row.id, data, "bench")
    return True


def _open_task_id(session, instance_id: str, element: str) -> str | None:
    mark = driver_sql.placeholder(session.connection().dialect)
    sql = (
        f"SELECT id FROM tasks WHERE instance_id = {mark} AND element = {mark}"
        " AND state = 'open' LIMIT 1"
    )
    with driver_sql.cursor(session) as cursor:
        cursor.execute(sql, (instance_id, element))
        found = cursor.fetchone()
    return found[0] if found else None


def measure(runs: int, database_url: str | None):
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/bench-{uuid.uuid4().hex}.sqlite3"
        system = build(url, clock=SettableClock(NOW))
        system.setup()
        engine_runs(2, system)  # warm up: specs parsed, caches filled
        bare_runs(2, system.engine.settings)
        # In turns, a few runs each, so that both see the same machine.
        bare = persisted = 0.0
        for chunk in _chunks(runs, 5):
            # Each side pays for the collections its own garbage causes, not for a full
            # collection the other side's objects made due (which one it lands in is luck).
            gc.collect()
            bare += bare_runs(chunk, system.engine.settings)
            gc.collect()
            persisted += engine_runs(chunk, system)
        system.db.dispose()
    return runs / bare, runs / persisted  # runs per CPU second


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - done) for done in range(0, total, size)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    bare, persisted = measure(args.runs, args.database)
    print(f"python {platform.python_version()}, {platform.machine()}, runs={args.runs}")
    print(f"user tasks per run: {len(STEPS)}")
    print(f"bare SpiffWorkflow in memory : {bare:8.1f} runs per CPU second")
    print(f"engine with persistence      : {persisted:8.1f} runs per CPU second")
    print(f"ratio (target >= 0.5)        : {persisted / bare:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
