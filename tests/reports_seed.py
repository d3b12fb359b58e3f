"""Archived applications for the report tests, written as rows (bulk inserts), not run
through the engine: the instance row with the data a full run leaves (docs/DESIGN.md,
"Data") and the task rows of its stages, with the times the test chooses; then their report
facts, filled from those rows as for a database upgraded from before the facts existed
(tasks/report_facts.py `refresh`)."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from engine.models import HumanTask, Instance, ProcessVersion
from tasks.report_facts import refresh

# The elements of a full run, per stage (the element, its role, one per enterprise/expert).
ELEMENTS = {
    "application": [("review_application", "center_staff", None)],
    "survey": [
        ("plan_survey", "center_staff", None),
        ("fill_questionnaire", "enterprise", "enterprise"),
        ("site_survey", "center_staff", None),
        ("design_service", "center_staff", None),
        ("confirm_service_design", "applicant", None),
    ],
    "preparation": [
        ("select_experts", "center_staff", None),
        ("submit_outline", "expert", "expert"),
        ("review_content", "center_staff", None),
        ("assign_coordinators", "center_staff", None),
        ("prepare_budget", "center_staff", None),
        ("approve_budget_division", "division_head", None),
        ("approve_budget_center", "center_head", None),
    ],
    "implementation": [
        ("issue_official_letter", "center_staff", None),
        ("record_activity", "applicant", None),
        ("evaluate_service", "enterprise", "enterprise"),
        ("track_activity", "center_staff", None),
    ],
    "follow_up": [("follow_up_visit", "center_staff", "enterprise")],
    "archiving": [("archive_file", "center_staff", None)],
}


@dataclass
class Seeded:
    """One application and what became of it. Times are aware datetimes."""

    started_at: datetime
    region: str = "石家庄市 长安区"
    unit: str = "石家庄市中小企业服务中心"
    topics: list = field(default_factory=lambda: ["management"])
    decision: str | None = "accept"  # None: not reviewed yet
    review_hours: float | None = 2.0  # review completed this long after submission
    review_due_hours: float = 24.0
    experts: list = field(default_factory=lambda: ["张教授"])
    enterprises: list = field(default_factory=lambda: ["甲公司"])
    scores: list = field(default_factory=list)  # (content, expert, organisation) per enterprise
    follow_ups: list = field(default_factory=list)  # (method, extended needed) per enterprise
    extended: dict | None = None
    budget: list | None = None  # [(category, amount)]
    # stage -> (hours after submission the stage's first task opened, hours it took)
    stages: dict = field(default_factory=dict)
    file_number: str | None = None
    version: int = 1


def process_version(system, version: int = 1) -> int:
    """The id of that version of order_service (of version 1 when there is no such one: the
    reports read the instance's own `version` column)."""
    with system.engine.db.session() as session:
        found = session.scalars(
            select(ProcessVersion.id)
            .where(ProcessVersion.key == "order_service", ProcessVersion.version.in_((1, version)))
            .order_by(ProcessVersion.version.desc())
        ).first()
    return found


def seed(system, applications: list[Seeded], chunk: int = 2000, facts: bool = True) -> list[str]:
    """Insert the instances and their task rows, and (`facts`) their report facts; returns
    the instance ids in order."""
    versions = {}
    ids, instances, tasks = [], [], []
    for number, application in enumerate(applications, start=1):
        if application.version not in versions:
            versions[application.version] = process_version(system, application.version)
        instance, rows = _rows(application, versions[application.version], number)
        ids.append(instance["id"])
        instances.append(instance)
        tasks.extend(rows)
    with system.engine.db.engine.begin() as connection:  # Core executemany: the quickest
        for start in range(0, len(instances), chunk):
            connection.execute(insert(Instance.__table__), instances[start : start + chunk])
        for start in range(0, len(tasks), chunk * 10):
            connection.execute(insert(HumanTask.__table__), tasks[start : start + chunk * 10])
    if facts:
        refresh(system.engine)
    return ids


def _rows(a: Seeded, version_id: int, number: int):
    instance_id = str(uuid.uuid4())
    start = a.started_at.astimezone(UTC)
    data = {
        "application": {
            "unit_name": a.unit,
            "unit_type": "service_institution",
            "region": a.region,
            "contact_person": "王芳",
            "phone": "0311-86001234",
            "topics": a.topics,
            "expected_enterprises": len(a.enterprises),
            "needs": "企业希望了解融资渠道和内部管理制度建设。",
            "qualification_documents": [str(uuid.uuid4())],
        }
    }
    accepted = a.decision == "accept"
    file_number = a.file_number or (f"DD-{start.year}-{number:05d}" if accepted else None)
    if a.decision:
        data["review_application"] = {"decision": a.decision}
        if a.decision == "reject":
            data["review_application"]["reason"] = "不符合条件"
    if accepted:
        data["file_number"] = file_number
        data["select_experts"] = {
            "experts": [
                {
                    "name": n,
                    "organisation": "河北经贸大学",
                    "specialty": "融资",
                    "qualification": "教授",
                }
                for n in a.experts
            ]
        }
        data["served_enterprises"] = [{"name": n} for n in a.enterprises]
    if a.scores:
        data["evaluate_service"] = [
            {
                "subject": subject,
                "data": {
                    "content_score": c,
                    "expert_score": e,
                    "organisation_score": o,
                    "comments": "很有帮助",
                    "stamped": True,
                },
            }
            for subject, (c, e, o) in zip(a.enterprises, a.scores, strict=False)
        ]
    if a.follow_ups:
        data["follow_up_visit"] = [
            {
                "subject": subject,
                "data": {"method": method, "effect": "效果良好", "extended_service_needed": need},
            }
            for subject, (method, need) in zip(a.enterprises, a.follow_ups, strict=False)
        ]
    if a.extended is not None:
        data["arrange_extended_service"] = a.extended
    if a.budget is not None:
        items = [{"category": c, "description": "费用", "amount": v} for c, v in a.budget]
        data["prepare_budget"] = {"items": items, "total": round(sum(v for _, v in a.budget), 2)}
    finished = a.decision is not None
    status = {"accept": "archived", "reject": "rejected"}.get(a.decision, "running")
    instance = {
        "id": instance_id,
        "process_key": "order_service",
        "process_version_id": version_id,
        "version": a.version,
        "status": status,
        "stage": "done" if finished else "application",
        "file_number": file_number,
        "started_by": "applicant",
        "started_at": start,
        "ended_at": start + timedelta(days=30) if finished else None,
        "data": data,
        "incident": None,
        "suspended": False,
        "state": "{}",
        "lock_version": 1,
    }
    tasks = [
        _task(
            instance_id,
            "review_application",
            "center_staff",
            "application",
            start,
            start + timedelta(hours=a.review_hours) if a.review_hours is not None else None,
            due=start + timedelta(hours=a.review_due_hours),
        )
    ]
    for stage, (opened, took) in a.stages.items():
        if stage == "application":
            continue
        subjects = {"enterprise": a.enterprises, "expert": a.experts}
        for element, role, per in ELEMENTS[stage]:
            for subject in subjects[per] if per else [None]:
                tasks.append(
                    _task(
                        instance_id,
                        element,
                        role,
                        stage,
                        start + timedelta(hours=opened),
                        start + timedelta(hours=opened + took),
                        subject=subject,
                    )
                )
    return instance, tasks


def _task(instance_id, element, role, stage, created, completed, due=None, subject=None):
    return {
        "id": str(uuid.uuid4()),
        "instance_id": instance_id,
        "process_key": "order_service",
        "diagram": f"order_service_{stage}",
        "element": element,
        "name": element,
        "name_en": element,
        "role": role,
        "form_key": None,
        "subject": subject,
        "stage": stage,
        "state": "completed" if completed else "open",
        "assignee": None,
        "due_at": due,
        "escalated_at": None,
        "created_at": created,
        "completed_at": completed,
        "completed_by": "center_staff" if completed else None,
        "on_behalf_of": None,
    }


CITIES = ["石家庄市", "保定市", "唐山市", "邯郸市", "沧州市", "廊坊市", "邢台市", "衡水市"]
TOPICS = ["management", "technology", "finance", "marketing", "legal", "human_resources"]
EXPERT_POOL = [f"专家{i:02d}" for i in range(30)]


def synthetic(count: int, end: datetime, seed_value: int = 11) -> list[Seeded]:
    """`count` archived (and some rejected) applications spread over the year before `end`,
    each with the task rows of a full run: three enterprises, two experts."""
    rng = random.Random(seed_value)
    found = []
    for _ in range(count):
        started = end - timedelta(days=rng.uniform(1, 360))
        accepted = rng.random() < 0.85
        enterprises = [f"企业{rng.randrange(10_000)}号" for _ in range(3)]
        application = Seeded(
            started_at=started,
            region=f"{rng.choice(CITIES)} 某区",
            unit=f"服务机构{rng.randrange(500)}",
            topics=rng.sample(TOPICS, rng.randint(1, 3)),
            decision="accept" if accepted else "reject",
            review_hours=rng.uniform(1, 40),
            enterprises=enterprises,
        )
        if accepted:
            application.experts = rng.sample(EXPERT_POOL, 2)
            application.scores = [tuple(rng.randint(3, 5) for _ in range(3)) for _ in enterprises]
            application.follow_ups = [
                (rng.choice(["phone", "online", "visit"]), rng.random() < 0.3) for _ in enterprises
            ]
            if any(need for _, need in application.follow_ups):
                application.extended = {"contract_price": rng.choice([0, 8000, 12000])}
            application.budget = [("expert_fee", 3000), ("venue", rng.choice([500, 620.5]))]
            hours = 0.0
            for stage in list(ELEMENTS)[1:]:
                took = rng.uniform(4, 200)
                application.stages[stage] = (hours, took)
                hours += took + rng.uniform(0, 24)
        found.append(application)
    return found
