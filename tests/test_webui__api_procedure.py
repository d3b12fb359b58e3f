"""The whole procedure driven through the HTTP API only, by the demo user of each role.

One real `dingdan serve` per test, with the test clock: time moves only when `admin`
posts to /test/clock, and every step is checked by what the API shows afterwards.
"""

import copy

from .driver import APPLICATION, DEFAULTS, ENTERPRISES
from .server import Client, running_server

TEST_CLOCK = {"DINGDAN_TEST_CLOCK": "1"}
USERS = ("applicant", "center_staff", "center_head", "division_head", "admin")
EXPERTS = sorted(e["name"] for e in DEFAULTS["select_experts"]["experts"])
# Wednesday before the National Day holidays: the review is due Thursday 10-08 17:30.
SUBMITTED = "2026-09-30T10:00:00+08:00"
REVIEW_DUE = "2026-10-08T17:30:00+08:00"


class Api:
    """The demo users of one server, signed in, working on one instance."""

    def __init__(self, server):
        self.clients = {name: Client(server.url, name) for name in USERS}
        self.instance_id = None

    def __getitem__(self, username) -> Client:
        return self.clients[username]

    # -- time -----------------------------------------------------------------------------

    def at(self, when: str) -> dict:
        """Move the service's clock; the server runs every timer due before it answers."""
        response = self["admin"].post("/test/clock", json={"now": when})
        assert response.status_code == 200, response.text
        return response.json()

    # -- starting -------------------------------------------------------------------------

    def upload(self, username="applicant", name="营业执照.pdf", content=b"%PDF-1.4 test"):
        response = self[username].post("/files", files={"file": (name, content, "application/pdf")})
        assert response.status_code == 201, response.text
        stored = response.json()
        assert (stored["name"], stored["size"]) == (name, len(content))
        return stored["id"]

    def start(self, username="applicant") -> dict:
        data = dict(APPLICATION, qualification_documents=[self.upload(username)])
        response = self[username].post(
            "/instances", json={"process": "order_service", "data": data}
        )
        assert response.status_code == 201, response.text
        self.instance_id = response.json()["id"]
        return response.json()

    # -- looking --------------------------------------------------------------------------

    def instance(self, username="center_staff") -> dict:
        response = self[username].get(f"/instances/{self.instance_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def open_elements(self) -> list[str]:
        return sorted(t["element"] for t in self.instance()["open_tasks"])

    def inbox(self, username, element=None) -> list[dict]:
        """This instance's unclaimed tasks in the user's group inbox."""
        response = self[username].get("/tasks", params={"scope": "group"})
        assert response.status_code == 200, response.text
        return [
            t
            for t in response.json()
            if t["instance_id"] == self.instance_id and element in (None, t["element"])
        ]

    def history(self, username="center_staff") -> list[dict]:
        response = self[username].get(f"/instances/{self.instance_id}/history")
        assert response.status_code == 200, response.text
        return response.json()

    # -- working --------------------------------------------------------------------------

    def claim(self, username, element, subject=None) -> str:
        """Find the task in the user's group inbox and claim it; returns its id."""
        found = [t for t in self.inbox(username, element) if subject in (None, t["subject"])]
        assert found, f"{username} has no {element} ({subject}); open: {self.open_elements()}"
        response = self[username].post(f"/tasks/{found[0]['id']}/claim")
        assert response.status_code == 200, response.text
        assert response.json()["assignee"] == username
        return found[0]["id"]

    def submit(self, username, task_id, data):
        return self[username].post(f"/tasks/{task_id}/complete", json={"data": data})

    def complete(self, username, element, data=None, subject=None) -> dict:
        """Claim and complete the task; returns the instance as the server answers."""
        task_id = self.claim(username, element, subject)
        if data is None:
            data = copy.deepcopy(DEFAULTS[element])
        response = self.submit(username, task_id, data)
        assert response.status_code == 200, response.text
        return response.json()

    def complete_each(self, username, element, data=None) -> list[str]:
        """Complete every per-item task of `element`; returns their subjects."""
        subjects = sorted(t["subject"] for t in self.inbox(username, element))
        for subject in subjects:
            self.complete(username, element, data, subject=subject)
        return subjects


def test_the_whole_procedure_through_the_api(database_url):
    with running_server(database_url, env=TEST_CLOCK) as server:
        api = Api(server)
        api.at(SUBMITTED)  # the test clock starts at real time; fix it before starting

        # 1. Application: the review is due at close of business of the next working day.
        started = api.start()
        assert (started["status"], started["stage"]) == ("running", "application")
        assert started["started_by"] == "applicant"
        [review] = api.inbox("center_staff", "review_application")
        assert review["due_at"] == REVIEW_DUE
        assert review["overdue"] is False

        api.at("2026-10-08T17:29:00+08:00")
        assert api.inbox("center_head") == []
        assert api.inbox("center_staff", "review_application")[0]["overdue"] is False

        api.at("2026-10-08T17:31:00+08:00")
        [review] = api.inbox("center_staff", "review_application")
        assert review["overdue"] is True
        assert [t["element"] for t in api.inbox("center_head")] == ["handle_overdue_review"]

        accepted = api.complete("center_staff", "review_application")
        assert accepted["file_number"] == "DD-2026-0001"
        assert api.instance()["file_number"] == "DD-2026-0001"
        assert api.inbox("center_head") == []  # the escalation is withdrawn

        # 2. Survey: one questionnaire per enterprise, entered by staff on its behalf.
        api.complete("center_staff", "plan_survey")
        assert api.instance()["stage"] == "survey"
        assert api.complete_each("center_staff", "fill_questionnaire") == sorted(ENTERPRISES)
        api.complete("center_staff", "site_survey")
        api.complete("center_staff", "design_service")
        api.complete("applicant", "confirm_service_design")

        # 3. Preparation: experts, their outlines, the budget and both signatures.
        assert api.instance()["stage"] == "preparation"
        api.complete("center_staff", "select_experts")
        assert api.complete_each("center_staff", "submit_outline") == EXPERTS
        api.complete("center_staff", "review_content")
        api.complete("center_staff", "assign_coordinators")

        budget_task = api.claim("center_staff", "prepare_budget")
        with_total = {**copy.deepcopy(DEFAULTS["prepare_budget"]), "total": 3620.5}
        refused = api.submit("center_staff", budget_task, with_total)
        assert refused.status_code == 422, refused.text
        assert "total" in refused.json()["error"]["fields"]
        response = api.submit("center_staff", budget_task, DEFAULTS["prepare_budget"])
        assert response.status_code == 200, response.text
        assert api.instance()["data"]["prepare_budget"]["total"] == 3620.5

        assert api.open_elements() == ["approve_budget_center", "approve_budget_division"]
        api.complete("division_head", "approve_budget_division")
        api.complete("center_head", "approve_budget_center")

        # 4. Implementation: the letter, then a wait for the activity day.
        api.complete("center_staff", "issue_official_letter")
        waiting = api.instance()
        assert (waiting["status"], waiting["stage"]) == ("running", "implementation")
        assert waiting["open_tasks"] == []
        assert "2026-10-20T09:00:00+08:00" in [t["due_at"] for t in waiting["timers"]]
        api.at("2026-10-20T08:59:00+08:00")
        assert api.open_elements() == []
        api.at("2026-10-20T09:01:00+08:00")
        assert api.open_elements() == ["record_activity"]

        api.complete("applicant", "record_activity")
        assert api.complete_each("center_staff", "evaluate_service") == sorted(ENTERPRISES)
        api.complete("center_staff", "track_activity")

        # 5. Follow-up: five working days after the activity (10-21 … 10-27, 17:30).
        assert api.open_elements() == []
        api.at("2026-10-27T17:29:00+08:00")
        assert api.open_elements() == []
        api.at("2026-10-27T17:31:00+08:00")
        visits = api.inbox("center_staff", "follow_up_visit")
        assert sorted(t["subject"] for t in visits) == sorted(ENTERPRISES)
        assert api.instance()["stage"] == "follow_up"

        need = {
            "method": "visit",
            "effect": "需要持续辅导",
            "extended_service_needed": True,
            "extended_service_description": "质量管理体系认证辅导",
        }
        api.complete("center_staff", "follow_up_visit", need, subject=ENTERPRISES[0])
        api.complete_each("center_staff", "follow_up_visit")
        assert api.open_elements() == ["arrange_extended_service"]
        api.complete("center_staff", "arrange_extended_service")

        # 6. Archiving.
        archived = api.complete("center_staff", "archive_file")
        assert (archived["status"], archived["stage"]) == ("archived", "done")
        assert archived["open_tasks"] == []
        assert api.instance("applicant")["status"] == "archived"

        # The generated documents, printable, with the file number.
        response = api["applicant"].get(f"/instances/{api.instance_id}/documents")
        assert response.status_code == 200, response.text
        documents = {d["name"]: d for d in response.json()}
        assert set(documents) == {"official_letter", "archive_record"}
        for name in documents:
            page = api["applicant"].get(f"/instances/{api.instance_id}/documents/{name}")
            assert page.status_code == 200, page.text
            assert page.headers["Content-Type"].startswith("text/html")
            assert "DD-2026-0001" in page.text

        # The audit history, in order, with who entered the enterprise forms.
        history = api.history()
        seqs = [e["seq"] for e in history]
        assert all(a < b for a, b in zip(seqs, seqs[1:], strict=False)), seqs
        types = [e["type"] for e in history]
        assert types[0] == "instance_started"
        assert {"task_completed", "timer_fired", "instance_ended"} <= set(types)
        assert types.count("timer_fired") == 3  # the escalation, the activity, the follow-up
        assert types[-1] == "instance_ended"  # after the archive record it produced
        review = next(e for e in history if e["element"] == "review_application")
        assert review["type"] == "task_created" and review["data"]["due_at"] == REVIEW_DUE
        escalation = next(e for e in history if e["type"] == "timer_fired")
        assert escalation["data"]["due_at"] == REVIEW_DUE  # shown in Shanghai, as `at` is
        questionnaires = [
            e
            for e in history
            if e["type"] == "task_completed" and e["element"] == "fill_questionnaire"
        ]
        assert {e["actor"] for e in questionnaires} == {"center_staff"}

        # The applicant sees its instance in its list.
        response = api["applicant"].get("/instances")
        assert response.status_code == 200, response.text
        assert api.instance_id in [i["id"] for i in response.json()]


def test_a_rejection_needs_a_reason_and_the_applicant_is_told_it(database_url):
    with running_server(database_url, env=TEST_CLOCK) as server:
        api = Api(server)
        api.at(SUBMITTED)
        api.start()

        task_id = api.claim("center_staff", "review_application")
        refused = api.submit("center_staff", task_id, {"decision": "reject"})
        assert refused.status_code == 422, refused.text
        assert "reason" in refused.json()["error"]["fields"]
        assert api.instance()["status"] == "running"
        assert api.open_elements() == ["review_application"]

        reason = "不属于本中心服务范围"
        response = api.submit("center_staff", task_id, {"decision": "reject", "reason": reason})
        assert response.status_code == 200, response.text
        rejected = api.instance("applicant")
        assert (rejected["status"], rejected["stage"]) == ("rejected", "done")
        assert rejected["file_number"] is None
        assert rejected["open_tasks"] == []

        response = api["applicant"].get(f"/instances/{api.instance_id}/notices")
        assert response.status_code == 200, response.text
        [notice] = response.json()
        assert notice["to"] == "applicant"
        assert reason in notice["text"]
