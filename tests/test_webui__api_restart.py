"""Timers that fell due while the service was down fire when it starts again."""

import time
from datetime import UTC, datetime

from .driver import APPLICATION
from .server import Client, running_server

TEST_CLOCK = {"DINGDAN_TEST_CLOCK": "1"}
# Wednesday before the National Day holidays: the review is due Thursday 10-08 17:30.
SUBMITTED = "2026-09-30T10:00:00+08:00"
REVIEW_DUE = "2026-10-08T17:30:00+08:00"


def start_application(server) -> str:
    admin, applicant = Client(server.url, "admin"), Client(server.url, "applicant")
    response = admin.post("/test/clock", json={"now": SUBMITTED})
    assert response.status_code == 200, response.text
    upload = applicant.post("/files", files={"file": ("资质.pdf", b"%PDF-1.4", "application/pdf")})
    assert upload.status_code == 201, upload.text
    data = dict(APPLICATION, qualification_documents=[upload.json()["id"]])
    response = applicant.post("/instances", json={"process": "order_service", "data": data})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def group_inbox(client, instance_id) -> list[dict]:
    response = client.get("/tasks", params={"scope": "group"})
    assert response.status_code == 200, response.text
    return [t for t in response.json() if t["instance_id"] == instance_id]


def wait_for_escalation(head, instance_id, seconds=10) -> list[dict]:
    """Poll the head's inbox while the new process catches up (real time, not test time)."""
    deadline = time.monotonic() + seconds
    while True:
        tasks = group_inbox(head, instance_id)
        if tasks or time.monotonic() > deadline:
            return tasks
        time.sleep(0.1)


def test_a_deadline_passed_while_the_service_was_down_escalates_at_start_up(database_url):
    # The new process's test clock starts at real time; the deadline must lie behind it.
    assert datetime.now(UTC) > datetime.fromisoformat(REVIEW_DUE), "run after 2026-10-08"

    with running_server(database_url, env=TEST_CLOCK) as server:
        instance_id = start_application(server)
        staff = Client(server.url, "center_staff")
        [review] = group_inbox(staff, instance_id)
        assert (review["element"], review["due_at"]) == ("review_application", REVIEW_DUE)
        assert review["overdue"] is False
        assert group_inbox(Client(server.url, "center_head"), instance_id) == []

    with running_server(database_url, env=TEST_CLOCK) as server:
        escalations = wait_for_escalation(Client(server.url, "center_head"), instance_id)
        assert [t["element"] for t in escalations] == ["handle_overdue_review"]

        staff = Client(server.url, "center_staff")
        [review] = group_inbox(staff, instance_id)
        assert (review["element"], review["due_at"]) == ("review_application", REVIEW_DUE)
        assert review["overdue"] is True

        # Give the scheduler's once-a-second re-check time to run: it must not fire again.
        time.sleep(1.5)
        response = staff.get(f"/instances/{instance_id}/history")
        assert response.status_code == 200, response.text
        events = response.json()
        assert [e["type"] for e in events].count("timer_fired") == 1
        overdue = [e for e in events if e["type"] == "task_overdue"]
        assert [(e["element"], e["task_id"]) for e in overdue] == [
            ("review_application", review["id"])
        ]


def test_the_scheduler_fires_what_fell_due_before_it_started(system, clock):
    """White-box: start() sweeps once, synchronously, before its first interval."""
    from datetime import datetime

    from webui.scheduler import TimerScheduler

    from .driver import SHANGHAI, Driver

    driver = Driver(system, clock)
    driver.start()
    clock.set(datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI))
    scheduler = TimerScheduler(system)
    try:
        scheduler.start()
        assert driver.open_elements() == ["handle_overdue_review", "review_application"]
    finally:
        scheduler.shutdown()
