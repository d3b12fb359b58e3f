"""Replay speed: an instance of about 1,000 audit events replayed to its last event.

The instance is built through the engine, as people would drive it: the application is
accepted, the survey planned and filled in, and then the service design is sent back and
redone (design_service → confirm_service_design "revise") until the log holds the wanted
number of events; the design is then agreed. The replay (engine/replay.py) rebuilds it
from its events on its version and holds the result against the stored state; the target
is at most 200 ms. Usage: python benchmarks/replay.py [--events N] [--runs R] [--database URL]
"""

import argparse
import copy
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from engine.clock import SettableClock  # noqa: E402
from engine.models import AuditEvent, HumanTask  # noqa: E402
from engine.replay import replay  # noqa: E402
from webui.composition import build  # noqa: E402

START = datetime(2026, 9, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TARGET_MS = 200
ENTERPRISES = ["甲公司", "乙公司", "丙公司"]
APPLICATION = {
    "unit_name": "石家庄市中小企业服务中心",
    "unit_type": "service_institution",
    "region": "石家庄市 长安区",
    "contact_person": "王芳",
    "phone": "0311-86001234",
    "topics": ["management"],
    "expected_enterprises": 3,
    "preferred_period": "2026年10月下旬",
    "needs": "融资渠道",
}
DATA = {
    "review_application": {"decision": "accept"},
    "plan_survey": {
        "enterprises": [{"name": n, "industry": "制造业"} for n in ENTERPRISES],
        "survey_date": "2026-10-12",
    },
    "fill_questionnaire": {"industry": "制造业", "main_problems": "融资难"},
    "site_survey": {},
    "design_service": {"content": "融资与内部管理专题讲座", "mode": "lecture"},
    "confirm_service_design": {"decision": "revise", "comments": "请增加案例"},
}
ROLES = ["applicant", "center_staff", "center_head", "division_head", "auditor"]


class Run:
    def __init__(self, system):
        self.system = system
        tasks = system.tasks
        self.actors = {role: tasks.add_user(f"bench_{role}", [role]) for role in ROLES}
        upload = tasks.store_file(
            self.actors["applicant"], "营业执照.pdf", "application/pdf", b"%PDF-1.4"
        )
        data = dict(APPLICATION, qualification_documents=[upload.id])
        self.instance_id = tasks.start(self.actors["applicant"], "order_service", data).id

    def open_tasks(self, element):
        with self.system.engine.unit_of_work() as uow:
            return list(
                uow.session.scalars(
                    select(HumanTask).where(
                        HumanTask.instance_id == self.instance_id,
                        HumanTask.element == element,
                        HumanTask.state == "open",
                    )
                )
            )

    def complete(self, element, data=None):
        for row in self.open_tasks(element):
            actor = self.actors["applicant" if row.role == "applicant" else "center_staff"]
            self.system.tasks.complete(actor, row.id, copy.deepcopy(data or DATA[element]))

    def events(self) -> int:
        with self.system.engine.unit_of_work() as uow:
            return uow.session.scalar(
                select(func.count()).where(AuditEvent.chain == self.instance_id)
            )


def build_instance(system, events: int) -> Run:
    run = Run(system)
    for element in ("review_application", "plan_survey", "fill_questionnaire", "site_survey"):
        run.complete(element)
    # One round of the loop records four events: two completions, two new tasks.
    count = run.events()
    while count < events - 4:
        run.complete("design_service")
        run.complete("confirm_service_design")
        count, before = run.events(), count
        if count == before:  # SpiffWorkflow walks its task tree at most 1,000 deep
            raise RuntimeError(f"the instance stopped moving at {count} events")
    run.complete("design_service")
    run.complete("confirm_service_design", {"decision": "agree"})
    return run


def measure(events: int = 1000, runs: int = 15, database_url: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/replay-{uuid.uuid4().hex}.sqlite3"
        system = build(url, clock=SettableClock(START))
        system.setup()
        run = build_instance(system, events)
        engine = system.engine
        replay(engine, run.instance_id)  # warm up: the version's specs are loaded once
        wall, cpu = [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            result = replay(engine, run.instance_id)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        system.db.dispose()
    return {
        "events": result.last_seq,
        "divergences": [d.message for d in result.divergences],
        "wall_ms": wall,
        "cpu_ms": cpu,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    found = measure(args.events, args.runs, args.database)
    wall, cpu = sorted(found["wall_ms"]), sorted(found["cpu_ms"])
    median = statistics.median(wall)
    print(f"python {platform.python_version()}, {platform.machine()}, runs={args.runs}")
    print(f"events replayed to the last one : {found['events']}")
    print(f"divergences found               : {len(found['divergences'])}")
    for message in found["divergences"]:
        print(f"  {message}")
    print(f"replay, wall clock              : median {median:6.1f} ms, best {wall[0]:6.1f} ms")
    print(f"replay, CPU time                : median {statistics.median(cpu):6.1f} ms")
    verdict = "met" if median <= TARGET_MS else "NOT met"
    print(f"target <= {TARGET_MS} ms (median, wall)  : {verdict}")
    return 0 if median <= TARGET_MS and not found["divergences"] else 1


if __name__ == "__main__":
    sys.exit(main())
