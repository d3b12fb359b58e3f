"""The `dingdan` command line, run as a separate process against a real database file."""

import os
import subprocess
import sys

from engine.clock import SettableClock
from webui.composition import PROCESSES_DIR, build, settings_from_env

from .conftest import START
from .driver import Driver


def dingdan(db_url, *args, stdin=None):
    env = dict(os.environ, DINGDAN_DATABASE_URL=db_url)
    return subprocess.run(
        [sys.executable, "-m", "webui.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_deploy_users_and_timers_from_the_command_line(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    files = sorted(str(p) for p in PROCESSES_DIR.glob("*.bpmn"))
    first = dingdan(db_url, "deploy", *files)
    assert first.returncode == 0, first.stderr
    assert "order_service version 1 deployed" in first.stdout
    again = dingdan(db_url, "deploy", *files)
    assert "order_service version 1 unchanged" in again.stdout

    added = dingdan(
        db_url,
        "users",
        "add",
        "wang",
        "--role",
        "center_staff",
        "--password-stdin",
        stdin="s3cret\n",
    )
    assert added.returncode == 0 and "wang: center_staff" in added.stdout

    # An application submitted on 2026-09-30 whose review deadline (10-08 17:30) has passed.
    system = build(db_url, clock=SettableClock(START))
    Driver(system, system.engine.clock).start()
    system.db.dispose()
    fired = dingdan(db_url, "timers", "run-due")
    assert fired.returncode == 0, fired.stderr
    assert fired.stdout.strip() == "1"
    assert dingdan(db_url, "timers", "run-due").stdout.strip() == "0"


def test_a_broken_diagram_is_reported_with_its_element_and_exit_status_1(tmp_path):
    broken = tmp_path / "broken.bpmn"
    text = (PROCESSES_DIR / "order_service.bpmn").read_text(encoding="utf-8")
    broken.write_text(text.replace('calledElement="order_service_survey"', 'calledElement="x"'))
    result = dingdan(f"sqlite:///{tmp_path / 'b.sqlite3'}", "deploy", str(broken))
    assert result.returncode == 1
    assert "call_survey" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_file_and_an_unknown_instance_are_errors_not_tracebacks(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    missing = dingdan(db_url, "deploy", str(tmp_path / "missing.bpmn"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "cannot read" in missing.stderr and "missing.bpmn" in missing.stderr
    assert dingdan(db_url, "db", "upgrade").returncode == 0
    unknown = dingdan(db_url, "audit", "verify", "no-such-instance")
    assert unknown.returncode == 1 and "no-such-instance" in unknown.stderr


def test_an_unknown_role_is_refused(tmp_path):
    result = dingdan(f"sqlite:///{tmp_path / 'c.sqlite3'}", "users", "add", "x", "--role", "boss")
    assert result.returncode == 1 and "unknown role: boss" in result.stderr


def test_serve_demo_refuses_a_public_address(tmp_path):
    result = dingdan(f"sqlite:///{tmp_path / 'd.sqlite3'}", "serve", "--demo", "--host", "0.0.0.0")
    assert result.returncode == 2 and "--demo" in result.stderr


def test_the_follow_up_period_is_configurable():
    assert settings_from_env({}).follow_up_working_days == 5
    assert settings_from_env({"DINGDAN_FOLLOW_UP_WORKING_DAYS": "3"}).follow_up_working_days == 3
