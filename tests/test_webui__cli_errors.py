"""Wrong input to the `dingdan` command line: one line saying what is wrong, never a
traceback; and no empty password, wherever a password is set."""

import contextlib
import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import select

from engine.errors import InvalidData
from engine.models import User
from tasks.admin import AdminService
from tasks.passwords import hash_password
from webui.app import create_app
from webui.composition import PROCESSES_DIR, build

from .test_webui__admin_pages import post, signed_in_client


def dingdan(db_url, *args, stdin="", env=None):
    """`dingdan ARGS`; db_url goes into DINGDAN_DATABASE_URL (None: left out)."""
    environ = dict(os.environ, **(env or {}))
    environ.pop("DINGDAN_DATABASE_URL", None)
    if db_url is not None:
        environ["DINGDAN_DATABASE_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "webui.cli", *args],
        input=stdin.encode() if isinstance(stdin, str) else stdin,
        capture_output=True,
        env=environ,
        timeout=120,
    )


def err(result) -> str:
    return result.stderr.decode("utf-8", "replace")


def assert_one_line_error(result, status=1):
    stderr = err(result)
    assert result.returncode == status, stderr
    assert "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    return stderr


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


@pytest.fixture
def held_port():
    """A port something else listens on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


# -- empty passwords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stdin", ["", "\n", "   \n", "\t\n"], ids=["eof", "empty", "spaces", "tab"]
)
def test_the_command_line_refuses_an_empty_password(db_url, stdin):
    args = ("users", "add", "emptypw", "--role", "applicant", "--password-stdin")
    stderr = assert_one_line_error(dingdan(db_url, *args, stdin=stdin))
    assert "password" in stderr and "empty" in stderr
    upgraded = dingdan(db_url, "db", "upgrade")
    assert upgraded.returncode == 0, err(upgraded)
    with _client(db_url) as client:
        answer = client.post(
            "/api/v1/auth/token", json={"username": "emptypw", "password": stdin.strip()}
        )
    assert answer.status_code == 401


def test_a_short_password_from_the_command_line_still_works(db_url):
    args = ("users", "add", "demo", "--role", "applicant", "--password-stdin")
    added = dingdan(db_url, *args, stdin="demo\n")
    assert added.returncode == 0, err(added)
    with _client(db_url) as client:
        answer = client.post("/api/v1/auth/token", json={"username": "demo", "password": "demo"})
    assert answer.status_code == 200


def test_a_password_that_is_not_utf8_is_refused(db_url):
    args = ("users", "add", "bytes", "--role", "applicant", "--password-stdin")
    stderr = assert_one_line_error(dingdan(db_url, *args, stdin=b"\xff\xfe\n"))
    assert "password" in stderr


@pytest.mark.parametrize("password", ["", " ", "   \t  "])
def test_no_empty_password_is_stored(system, password):
    with pytest.raises(InvalidData) as caught:
        system.tasks.add_user("blank", ["applicant"], password=password)
    assert "password" in caught.value.fields


@pytest.mark.parametrize("password", ["", "          ", "\t\t\t\t\t\t\t\t\t"])
def test_admins_cannot_set_an_empty_password(system, password):
    admin = AdminService(system.engine)
    root = system.tasks.add_user("root", ["admin"], password="root-password")
    system.tasks.add_user("wang", ["center_staff"], password="wang-password")
    with pytest.raises(InvalidData) as caught:
        admin.add_user(root, "fang", ["applicant"], password)
    assert caught.value.fields == {"password": "required"}
    with pytest.raises(InvalidData) as caught:
        admin.reset_password(root, "wang", password)
    assert caught.value.fields == {"password": "required"}
    assert system.tasks.check_password("wang", "wang-password") is not None


def test_the_admin_pages_answer_422_to_a_blank_password(system):
    app = create_app(system, {"SECRET_KEY": "test-secret"})
    root = signed_in_client(app, system, "root", ["admin"])
    system.tasks.add_user("wang", ["center_staff"], password="wang-password")
    blank = " " * 12
    added = post(
        root,
        "/admin/users",
        {"username": "fang", "password": blank, "roles": ["applicant"]},
        page="/admin/users",
    )
    assert added.status_code == 422
    reset = post(root, "/admin/users/wang/password", {"password": blank}, page="/admin/users")
    assert reset.status_code == 422
    assert system.tasks.check_password("wang", "wang-password") is not None
    assert system.tasks.check_password("fang", blank) is None


@pytest.mark.parametrize("password", ["", "  "])
def test_an_empty_password_stored_before_never_signs_in(system, password):
    """An account given an empty password before they were refused."""
    system.tasks.add_user("emptypw", ["applicant"])
    with system.engine.unit_of_work() as uow:
        user = uow.session.scalar(select(User).where(User.username == "emptypw"))
        user.password_hash = hash_password(password)
    client = create_app(system, {"SECRET_KEY": "test-secret"}).test_client()
    answer = client.post("/api/v1/auth/token", json={"username": "emptypw", "password": password})
    assert answer.status_code == 401
    assert system.tasks.check_password("emptypw", password) is None


# -- ports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1", "http"])
@pytest.mark.parametrize(
    "command",
    [("serve", "--demo", "--port"), ("worker", "--metrics-port")],
    ids=["serve", "worker"],
)
def test_a_port_out_of_range_is_a_usage_error(db_url, command, port):
    result = dingdan(db_url, *command, port)
    stderr = err(result)
    assert result.returncode == 2, stderr
    assert command[-1] in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("threads", ["0", "-3"])
def test_serve_needs_at_least_one_thread(db_url, threads):
    result = dingdan(db_url, "serve", "--demo", "--threads", threads)
    assert result.returncode == 2 and "--threads" in err(result)


@pytest.mark.parametrize("workers", [[], ["--workers", "1"]], ids=["waitress", "gunicorn"])
def test_serve_on_a_port_in_use_says_so(db_url, held_port, workers):
    result = dingdan(db_url, "serve", "--demo", "--port", str(held_port), *workers)
    stderr = err(result)
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert f"port {held_port} on 127.0.0.1 is in use" in stderr


def test_worker_metrics_on_a_port_in_use_says_so(db_url):
    with socket.socket() as held:
        held.bind(("0.0.0.0", 0))
        held.listen()
        port = held.getsockname()[1]
        result = dingdan(db_url, "worker", "--metrics-port", str(port))
    stderr = err(result)
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr and f"port {port}" in stderr and "in use" in stderr


def test_serve_on_an_unknown_host_says_so(db_url):
    key = {"DINGDAN_SECRET_KEY": "k" * 40}
    result = dingdan(db_url, "serve", "--host", "no-such-host.invalid", "--port", "5999", env=key)
    stderr = assert_one_line_error(result)
    assert "no-such-host.invalid" in stderr


# -- database URLs ----------------------------------------------------------------------------

COMMANDS = {
    "timers": ["timers", "run-due"],
    "audit": ["audit", "verify"],
    "db-upgrade": ["db", "upgrade"],
    "deploy": ["deploy", str(PROCESSES_DIR / "order_service.bpmn")],
    "users": ["users", "add", "x", "--role", "applicant"],
    "serve": ["serve", "--demo", "--port", "5999"],
    "worker": ["worker"],
}
BAD_URLS = {
    "not-a-url": ("notaurl", "notaurl"),
    "missing-directory": ("sqlite:////nonexistent/dir/x.db", "/nonexistent/dir/x.db"),
    "refused": ("postgresql://scott:tiger-secret@127.0.0.1:1/x", "127.0.0.1:1"),
    "unknown-kind": ("nosuchdb://scott:tiger-secret@host/x", "nosuchdb"),
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_bad_database_url_is_one_line_naming_it(command, url):
    url, named = url
    stderr = assert_one_line_error(dingdan(None, "--database", url, *command))
    assert named in stderr and "--database" in stderr
    assert "tiger-secret" not in stderr


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_bad_database_url_in_the_environment_likewise(url):
    url, named = url
    stderr = assert_one_line_error(dingdan(url, "timers", "run-due"))
    assert named in stderr and "DINGDAN_DATABASE_URL" in stderr
    assert "tiger-secret" not in stderr


# -- other arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [b"users", b"add", b"\xff", b"--role", b"applicant"],
        [b"users", b"add", b"x", b"--role", b"applicant", b"--subject", b"\xff\xfe"],
        [b"audit", b"verify", b"\xff"],
    ],
    ids=["name", "subject", "instance"],
)
def test_arguments_that_are_not_utf8_are_usage_errors(db_url, args):
    stderr = assert_one_line_error(dingdan(db_url, *args), status=2)
    assert "UTF-8" in stderr


def test_a_too_long_username_is_said_to_be_too_long(db_url):
    result = dingdan(db_url, "users", "add", "x" * 201, "--role", "applicant")
    assert result.returncode == 1 and "Traceback" not in err(result)
    assert "at most 200" in err(result)


@contextlib.contextmanager
def _client(db_url):
    system = build(db_url)
    try:
        yield create_app(system, {"SECRET_KEY": "test-secret"}).test_client()
    finally:
        system.db.dispose()
