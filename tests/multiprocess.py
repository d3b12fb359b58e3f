"""Helpers for the tests that run real `dingdan` processes against one PostgreSQL database."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine import audit
from engine.models import AuditEvent, HumanTask, Instance, Timer
from engine.projection import is_timer
from engine.spiff import state_to_json
from engine.state_store import stored_state

from .server import free_port


class Process:
    """A `dingdan …` subprocess whose output goes to a file (a pipe nobody reads fills up)."""

    def __init__(self, args, database_url, log_path: Path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 — closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webui.cli", *args],
            env=dict(os.environ, DINGDAN_DATABASE_URL=database_url, **(env or {})),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout=20) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class WebServer(Process):
    """`dingdan serve --workers N` on a free port, up once /healthz answers 200."""

    def __init__(self, database_url, log_path, workers=4, threads=4, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ["serve", "--port", str(self.port), "--workers", str(workers)]
        args += ["--threads", str(threads)]
        env = {"DINGDAN_SECRET_KEY": "k" * 64, **(env or {})}
        super().__init__(args, database_url, log_path, env)
        self.wait_until_up()

    def wait_until_up(self, timeout=60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"dingdan serve exited:\n{self.output()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"dingdan serve did not come up:\n{self.output()}")

    def web_workers(self) -> list[int]:
        """The gunicorn workers: children of the master, other than the timer worker."""
        return [
            pid
            for pid in children(self.pid)
            if b"worker" not in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        ]


def metric_value(exposition: str, name: str, **labels) -> float:
    """The sum of a metric's samples that carry these labels, from a text exposition."""
    total = 0.0
    for line in exposition.splitlines():
        match = re.match(rf"^{name}(?:{{(.*)}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …: comm may hold spaces, so split after its closing paren
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def count_events(db, type_: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(AuditEvent.type == type_))


def assert_consistent(system) -> int:
    """Every instance as stored is whole: its open task rows and waiting timer rows are
    exactly what its workflow state holds, the state reads back to itself, every completed
    task has one completion event and no task has two, and the audit chains verify.
    Returns the number of instances checked."""
    engine = system.engine
    with engine.unit_of_work() as uow:
        session = uow.session
        instances = list(session.scalars(select(Instance)))
        open_tasks, waiting = {}, {}
        for row in session.scalars(select(HumanTask).where(HumanTask.state == "open")):
            open_tasks.setdefault(row.instance_id, set()).add(row.id)
        for row in session.scalars(select(Timer).where(Timer.state == "waiting")):
            waiting.setdefault(row.instance_id, set()).add(row.id)
        for instance in instances:
            workflow = engine.workflow(uow, instance)
            stored = stored_state(uow.session, instance)
            assert json.loads(state_to_json(workflow)) == stored, instance.id
            ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
            assert ready == open_tasks.get(instance.id, set()), instance.id
            timers = {str(t.id) for t in workflow.get_tasks(state=TaskState.WAITING) if is_timer(t)}
            assert timers == waiting.get(instance.id, set()), instance.id
        uow.workflows.clear()  # read only
        completions = session.execute(
            select(AuditEvent.task_id, func.count())
            .where(AuditEvent.type == "task_completed")
            .group_by(AuditEvent.task_id)
        ).all()
        assert all(n == 1 for _, n in completions), [c for c in completions if c[1] != 1]
        completed = set(session.scalars(select(HumanTask.id).where(HumanTask.state == "completed")))
        assert completed == {task_id for task_id, _ in completions}
        problems = audit.verify(session)
        assert problems == [], problems
    return len(instances)
