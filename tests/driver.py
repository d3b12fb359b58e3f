"""Drives the order-service procedure through the task layer, as its people would.

Every completion is checked against a fresh engine: the stored state, read back and
written again, must be what was stored (SpiffWorkflow's own tests do the same mid-run).
"""

import copy
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.models import AuditEvent, Document, HumanTask, Instance, Notice
from engine.runtime import Engine
from engine.spiff import state_to_json
from engine.state_store import stored_state
from tasks.roles import ROLES

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENTERPRISES = ["石家庄恒达机械有限公司", "河北绿源食品有限公司", "正定县华信电子厂"]

APPLICATION = {
    "unit_name": "石家庄市中小企业服务中心",
    "unit_type": "service_institution",
    "region": "石家庄市 长安区",
    "contact_person": "王芳",
    "phone": "0311-86001234",
    "topics": ["management", "finance"],
    "expected_enterprises": 3,
    "preferred_period": "2026年10月下旬",
    "needs": "企业希望了解融资渠道和内部管理制度建设。",
}

DEFAULTS = {
    "review_application": {"decision": "accept"},
    "plan_survey": {
        "enterprises": [
            {"name": name, "industry": "制造业", "contact": "李经理", "phone": "0311-8800000"}
            for name in ENTERPRISES
        ],
        "survey_date": "2026-10-12",
    },
    "fill_questionnaire": {"industry": "制造业", "main_problems": "融资难"},
    "site_survey": {},
    "design_service": {"content": "融资与内部管理专题讲座", "mode": "lecture"},
    "confirm_service_design": {"decision": "agree"},
    "select_experts": {
        "experts": [
            {
                "name": "张教授",
                "organisation": "河北经贸大学",
                "specialty": "企业融资",
                "qualification": "教授",
            },
            {
                "name": "刘律师",
                "organisation": "河北正和律师事务所",
                "specialty": "公司法务",
                "qualification": "执业律师",
            },
        ]
    },
    "submit_outline": {"topic": "中小企业融资", "outline": "一、融资渠道；二、案例"},
    "review_content": {"decision": "pass"},
    "assign_coordinators": {},
    "prepare_budget": {
        "items": [
            {"category": "expert_fee", "description": "专家授课费", "amount": 3000},
            {"category": "venue", "description": "场地", "amount": 620.5},
        ]
    },
    "approve_budget_division": {"decision": "approve"},
    "approve_budget_center": {"decision": "approve"},
    "issue_official_letter": {
        "activity_date": "2026-10-20T09:00:00+08:00",
        "venue": "石家庄市长安区科技大厦三楼会议室",
        "programme": "09:00 开场\n09:30 融资专题\n14:00 法务专题",
    },
    "record_activity": {"served_enterprises": [{"name": name} for name in ENTERPRISES]},
    "evaluate_service": {
        "content_score": 5,
        "expert_score": 4,
        "organisation_score": 5,
        "comments": "很有帮助",
        "stamped": True,
    },
    "track_activity": {},
    "follow_up_visit": {"method": "phone", "effect": "效果良好", "extended_service_needed": False},
    "arrange_extended_service": {},
    "archive_file": {},
    "handle_overdue_review": {},
}

# Who does each lane's work in these tests (enterprise and expert forms: staff, on behalf).
LANE_USER = {
    "applicant": "applicant",
    "center_staff": "center_staff",
    "center_head": "center_head",
    "division_head": "division_head",
    "enterprise": "center_staff",
    "expert": "center_staff",
}


class Driver:
    def __init__(self, system, clock):
        self.system = system
        self.clock = clock
        self.tasks = system.tasks
        self.actors = {role: self.tasks.add_user(role, [role]) for role in ROLES}
        self.instance_id = None

    # -- steps ----------------------------------------------------------------------------

    def upload(self, as_="applicant", name="营业执照.pdf", content=b"%PDF-1.4 test"):
        return self.tasks.store_file(self.actors[as_], name, "application/pdf", content).id

    def start(self, data=None, as_="applicant"):
        if data is None:
            data = dict(APPLICATION, qualification_documents=[self.upload(as_)])
        instance = self.tasks.start(self.actors[as_], "order_service", data)
        self.instance_id = instance.id
        return instance

    def open_tasks(self, element=None):
        with self.system.engine.unit_of_work() as uow:
            query = select(HumanTask).where(
                HumanTask.instance_id == self.instance_id, HumanTask.state == "open"
            )
            if element:
                query = query.where(HumanTask.element == element)
            return list(uow.session.scalars(query.order_by(HumanTask.created_at, HumanTask.id)))

    def task(self, element, subject=None):
        found = [t for t in self.open_tasks(element) if subject in (None, t.subject)]
        assert found, f"no open task {element} ({subject}); open: {self.open_elements()}"
        return found[0]

    def open_elements(self):
        return sorted(t.element for t in self.open_tasks())

    def complete(self, element, data=None, as_=None, subject=None):
        row = self.task(element, subject)
        if data is None:
            data = copy.deepcopy(DEFAULTS[element])
        user = as_ or LANE_USER[row.role]
        instance = self.tasks.complete(self.actors[user], row.id, data)
        self.check_round_trip()
        return instance

    def complete_all(self, element, data=None):
        for row in self.open_tasks(element):
            self.complete(element, data, subject=row.subject)

    def at(self, when: datetime) -> int:
        """Move the clock and run the timer sweep, as the scheduler would."""
        self.clock.set(when)
        return self.system.engine.fire_due()

    # -- whole stretches ------------------------------------------------------------------

    def run_until(self, element):
        """Start if need be, then complete every open task with its defaults until
        `element` is open. Stops with an error where the instance waits for a timer."""
        if self.instance_id is None:
            self.start()
        while element not in self.open_elements():
            rows = [r for r in self.open_tasks() if r.element != "handle_overdue_review"]
            assert rows, f"nothing open before {element}: the instance waits for a timer"
            for row in rows:
                self.complete(row.element, subject=row.subject)

    def run_to_activity(self):
        self.run_until("issue_official_letter")
        self.complete("issue_official_letter")

    def run_from_activity_to_follow_up(self, fire_at=datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI)):
        assert self.at(fire_at) == 1
        self.complete("record_activity")
        self.complete_all("evaluate_service")
        self.complete("track_activity")
        assert self.at(datetime(2026, 10, 27, 17, 30, tzinfo=SHANGHAI)) == 1

    # -- looking --------------------------------------------------------------------------

    def instance(self) -> Instance:
        with self.system.engine.unit_of_work() as uow:
            return uow.session.get(Instance, self.instance_id)

    def stored_state(self) -> dict:
        """The instance's engine state as stored, segments put back."""
        with self.system.engine.unit_of_work(read_only=True) as uow:
            return stored_state(uow.session, uow.session.get(Instance, self.instance_id))

    def events(self, type_=None):
        with self.system.engine.unit_of_work() as uow:
            query = select(AuditEvent).where(AuditEvent.instance_id == self.instance_id)
            if type_:
                query = query.where(AuditEvent.type == type_)
            return list(uow.session.scalars(query.order_by(AuditEvent.seq)))

    def event_count(self):
        with self.system.engine.unit_of_work() as uow:
            return uow.session.scalar(
                select(func.count()).where(AuditEvent.instance_id == self.instance_id)
            )

    def documents(self):
        with self.system.engine.unit_of_work() as uow:
            return {
                d.name: d
                for d in uow.session.scalars(
                    select(Document).where(Document.instance_id == self.instance_id)
                )
            }

    def notices(self):
        with self.system.engine.unit_of_work() as uow:
            return list(
                uow.session.scalars(select(Notice).where(Notice.instance_id == self.instance_id))
            )

    def check_round_trip(self):
        """A fresh engine reads the stored state back and writes exactly the same state."""
        if self.instance_id is None:
            return
        fresh = Engine(self.system.db, self.clock, self.system.engine.settings)
        with fresh.unit_of_work() as uow:
            instance = fresh.lock(uow, self.instance_id)
            workflow = fresh.workflow(uow, instance)
            assert json.loads(state_to_json(workflow)) == stored_state(uow.session, instance)
            uow.workflows.clear()  # read only
