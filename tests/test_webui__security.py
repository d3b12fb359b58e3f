"""Web hardening (webui/security.py and friends): response headers on pages, the API and
generated documents; the session cookie's flags, also behind a proxy; sign-in throttling on
the engine's clock; CSRF on every form; the secret key `dingdan serve` insists on; uploads
served inertly; and no password or token in any log line."""

import io
import logging
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.models import SignInFailure, StoredFile
from webui.app import create_app
from webui.composition import PROCESSES_DIR, REPO_ROOT

from .api_client import sign_in as api_sign_in
from .driver import SHANGHAI

EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
}
PASSWORD = "Zq7-correct-horse-密码"
ACTIVITY_DAY = datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def app(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    monkeypatch.delenv("DINGDAN_BEHIND_PROXY", raising=False)
    return create_app(system, {"SECRET_KEY": "test-secret"})


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, **request) -> str:
    html = client.get("/login", **request).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in(client, username, password, **request):
    """POST /login through the form, as a browser would (with the form's CSRF token)."""
    token = csrf_token(client, **request)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        **request,
    )


def get_token(client, username, password, **request):
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}, **request
    )


def csp(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = [part.split() for part in policy.split(";") if part.strip()]
    return {words[0]: words[1:] for words in directives}


def assert_security_headers(response, where):
    assert csp(response) == EXPECTED_CSP, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "same-origin", where
    assert response.headers.get("X-Frame-Options") == "DENY", where


# -- headers ------------------------------------------------------------------------------


@pytest.fixture
def with_letter(driver):
    """An instance with a generated document (the official letter) and an uploaded file."""
    driver.run_to_activity()
    assert "official_letter" in driver.documents()
    driver.at(ACTIVITY_DAY)  # record_activity opens
    return driver


def test_pages_the_api_documents_and_files_carry_the_security_headers(
    app, client, system, with_letter
):
    instance_id = with_letter.instance_id
    file_id = with_letter.instance().data["application"]["qualification_documents"][0]
    system.tasks.add_user("center_staff", ["center_staff"], password=PASSWORD)
    bearer = {
        "Authorization": f"Bearer {get_token(client, 'center_staff', PASSWORD).json['token']}"
    }
    anonymous = app.test_client()
    assert anonymous.get("/login").status_code == 200
    assert_security_headers(anonymous.get("/login"), "login page")
    assert_security_headers(anonymous.get("/api/v1/instances"), "API 401")
    assert_security_headers(anonymous.get("/api/v1/openapi.json"), "OpenAPI document")

    assert log_in(client, "center_staff", PASSWORD).status_code == 302
    for path in (
        "/inbox",
        "/instances",
        f"/instances/{instance_id}",
        f"/instances/{instance_id}/diagram.json",
        f"/instances/{instance_id}/documents/official_letter",
        f"/files/{file_id}",
        "/static/js/diagram.js",
        "/no-such-page",
    ):
        with client.get(path) as response:  # closed: a static file is an open file
            assert response.status_code in (200, 404), (path, response.status_code)
            assert_security_headers(response, path)
    for path in (
        "/api/v1/processes",
        f"/api/v1/instances/{instance_id}",
        f"/api/v1/instances/{instance_id}/documents/official_letter",
        f"/api/v1/files/{file_id}",
        "/api/v1/no-such-thing",
    ):
        response = client.get(path, headers=bearer)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert_security_headers(response, path)
    document = client.get(
        f"/api/v1/instances/{instance_id}/documents/official_letter", headers=bearer
    )
    assert document.mimetype == "text/html" and "<style>" in document.get_data(as_text=True)
    assert "Strict-Transport-Security" not in document.headers  # plain HTTP


def test_the_sign_in_answers_are_not_cached(client, system):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    assert get_token(client, "wang", PASSWORD).headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_what_the_policy_allows_is_all_the_pages_and_documents_need(client, system, with_letter):
    """No inline script or event handler, no script from elsewhere: `script-src 'self'`
    runs the UI; the documents only use inline <style>; bpmn-js evaluates no strings."""
    system.tasks.add_user("center_staff", ["center_staff"], password=PASSWORD)
    assert log_in(client, "center_staff", PASSWORD).status_code == 302
    task = with_letter.open_tasks()[0]
    pages = {
        path: client.get(path).get_data(as_text=True)
        for path in (
            "/login",
            "/inbox",
            f"/instances/{with_letter.instance_id}",
            f"/tasks/{task.id}",
            "/start/order_service",
            "/experts",
        )
    }
    assert 'src="/vendor/bpmn-js/' in pages[f"/instances/{with_letter.instance_id}"]
    for path, html in pages.items():
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "javascript:" not in html, path
        for src in re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html):
            assert src.startswith("/") and not src.startswith("//"), (path, src)
    for template in sorted((PROCESSES_DIR / "templates").glob("*.html")):
        text = template.read_text(encoding="utf-8")
        assert "<script" not in text and not re.search(r"\son[a-z]+\s*=", text), template
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), template
    viewer = REPO_ROOT / "node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js"
    if viewer.is_file():  # else the page says the diagram is unavailable
        code = viewer.read_text(encoding="utf-8")
        assert "new Function(" not in code and not re.search(r"[^.\w]eval\(", code)


# -- cookies ------------------------------------------------------------------------------


def session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_the_session_cookie_is_http_only_and_same_site(client, system):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    response = log_in(client, "wang", PASSWORD)
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(client, system):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    # Over HTTPS Flask-WTF also wants a same-site Referer, as a browser sends.
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    response = log_in(client, "wang", PASSWORD, **https)
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


FORWARDED_HTTPS = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "203.0.113.9",
    "Referer": "https://localhost/login",
}


def test_behind_the_proxy_a_forwarded_https_request_gets_a_secure_cookie(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    monkeypatch.setenv("DINGDAN_BEHIND_PROXY", "1")
    client = create_app(system, {"SECRET_KEY": "test-secret"}).test_client()
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    response = log_in(client, "wang", PASSWORD, headers=FORWARDED_HTTPS)
    assert response.status_code == 302
    assert "Secure" in session_cookie(response)
    assert "Strict-Transport-Security" in response.headers


def test_without_the_proxy_setting_forwarded_headers_are_ignored(client, system):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    response = log_in(client, "wang", PASSWORD, headers=FORWARDED_HTTPS)
    assert response.status_code == 302
    assert "Secure" not in session_cookie(response)
    assert "Strict-Transport-Security" not in response.headers


# -- sign-in throttling -------------------------------------------------------------------


def assert_throttled(response, retry_after: int):
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == str(retry_after)


def test_five_failed_token_requests_lock_the_username_until_the_window_passes(
    client, system, clock
):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    for _ in range(5):
        assert get_token(client, "wang", "guess").status_code == 401
    locked_at = clock.now()
    refused = get_token(client, "wang", PASSWORD)  # even the right password: no oracle
    assert_throttled(refused, 15 * 60)
    assert refused.json["error"]["code"] == "too_many_requests"
    for _ in range(3):  # refused attempts do not extend the lock
        assert_throttled(get_token(client, "wang", "guess"), 15 * 60)

    clock.set(locked_at + timedelta(minutes=14, seconds=59))
    assert_throttled(get_token(client, "wang", PASSWORD), 1)
    clock.set(locked_at + timedelta(minutes=15))
    assert get_token(client, "wang", PASSWORD).status_code == 200


def test_the_login_form_is_throttled_too_and_shares_the_count(client, system, clock):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    for _ in range(3):
        assert log_in(client, "wang", "guess").status_code == 401
    for _ in range(2):
        assert get_token(client, "wang", "guess").status_code == 401
    clock.advance(timedelta(minutes=5))
    refused = log_in(client, "wang", PASSWORD)
    assert_throttled(refused, 10 * 60)
    assert "10" in refused.get_data(as_text=True)  # "try again in 10 minutes"
    clock.advance(timedelta(minutes=10))
    assert log_in(client, "wang", PASSWORD).status_code == 302


def test_a_success_clears_the_users_own_failures(client, system, clock):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    for _ in range(4):
        assert get_token(client, "wang", "typo").status_code == 401
    assert get_token(client, "wang", PASSWORD).status_code == 200
    for _ in range(4):  # counted afresh: for the username and for this address alike
        assert get_token(client, "wang", "typo").status_code == 401
    assert get_token(client, "wang", PASSWORD).status_code == 200


def test_one_address_trying_many_usernames_is_throttled(client, system):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    attacker = {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}}
    for name in ("li", "zhao", "qian", "sun", "zhou"):
        assert get_token(client, name, "123456", **attacker).status_code == 401
    assert_throttled(get_token(client, "wang", PASSWORD, **attacker), 15 * 60)
    office = {"environ_base": {"REMOTE_ADDR": "192.0.2.10"}}
    assert get_token(client, "wang", PASSWORD, **office).status_code == 200


def test_one_username_tried_from_many_addresses_is_throttled(client, system):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    for n in range(5):
        attempt = {"environ_base": {"REMOTE_ADDR": f"198.51.100.{n + 1}"}}
        assert get_token(client, "wang", "123456", **attempt).status_code == 401
    assert_throttled(
        get_token(client, "wang", PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.10"}), 15 * 60
    )


def test_a_forged_forwarded_for_does_not_escape_the_address_count(client, system):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    for n, name in enumerate(("li", "zhao", "qian", "sun", "zhou")):
        forged = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
        assert get_token(client, name, "123456", headers=forged).status_code == 401
    forged = {"X-Forwarded-For": "203.0.113.99"}
    assert_throttled(get_token(client, "wang", PASSWORD, headers=forged), 15 * 60)


def test_behind_the_proxy_the_forwarded_address_is_the_one_counted(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    monkeypatch.setenv("DINGDAN_BEHIND_PROXY", "1")
    client = create_app(system, {"SECRET_KEY": "test-secret"}).test_client()
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    attacker = {"headers": {"X-Forwarded-For": "198.51.100.7"}}
    for name in ("li", "zhao", "qian", "sun", "zhou"):
        assert get_token(client, name, "123456", **attacker).status_code == 401
    assert_throttled(get_token(client, "wang", PASSWORD, **attacker), 15 * 60)
    office = {"headers": {"X-Forwarded-For": "192.0.2.10"}}
    assert get_token(client, "wang", PASSWORD, **office).status_code == 200


def test_failures_are_stored_without_the_username_in_clear_and_expire(client, system, clock):
    for _ in range(2):
        assert get_token(client, PASSWORD, "oops").status_code == 401  # password as username
    with system.engine.unit_of_work() as uow:
        rows = list(uow.session.scalars(select(SignInFailure)))
    assert len(rows) == 2
    stored = " ".join(f"{r.username_key} {r.address_key}" for r in rows)
    assert PASSWORD not in stored and "127.0.0.1" not in stored
    clock.advance(timedelta(minutes=16))
    assert get_token(client, "nobody", "x").status_code == 401  # a new failure prunes the old
    with system.engine.unit_of_work() as uow:
        assert len(list(uow.session.scalars(select(SignInFailure)))) == 1


# -- CSRF ---------------------------------------------------------------------------------


def page_post_urls(app) -> list[str]:
    """Every POST route of the pages (not the bearer-token API), with made-up arguments."""
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.rule.startswith("/api/"):
                continue
            urls.append(url_for(rule.endpoint, **dict.fromkeys(rule.arguments, 1)))
    return sorted(urls)


def test_every_form_post_is_refused_without_a_valid_csrf_token(app, client, system):
    urls = page_post_urls(app)
    assert {"/login", "/logout", "/inbox/tasks/1/claim", "/start/1", "/tasks/1"} <= set(urls)
    system.tasks.add_user("boss", ["admin", "center_staff", "center_head"], password=PASSWORD)
    assert log_in(client, "boss", PASSWORD).status_code == 302
    for url in urls:
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data=data)
            assert response.status_code == 400, (url, data, response.status_code)
            assert "缺少安全校验码" in response.get_data(as_text=True), url  # the CSRF token
    assert client.get("/inbox").status_code == 200  # still signed in: /logout was refused

    token = csrf_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_a_session_cookie_alone_never_authorises_an_api_write(client, system):
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    assert log_in(client, "wang", PASSWORD).status_code == 302
    response = client.post("/api/v1/instances", json={"process": "order_service", "data": {}})
    assert response.status_code == 401


# -- the secret key -----------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "too-short"], ids=["unset", "short"])
def test_serve_without_demo_refuses_to_start_without_a_secret_key(tmp_path, key):
    env = {k: v for k, v in os.environ.items() if k != "DINGDAN_SECRET_KEY"}
    if key is not None:
        env["DINGDAN_SECRET_KEY"] = key
    env["DINGDAN_DATABASE_URL"] = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-m", "webui.cli", "serve", "--port", "1"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "DINGDAN_SECRET_KEY" in result.stderr and "--demo" in result.stderr
    assert not (tmp_path / "d.sqlite3").exists()  # refused before touching anything


# -- uploads ------------------------------------------------------------------------------


def test_an_upload_is_kept_in_the_database_and_served_inertly_with_a_safe_name(client, system, app):
    headers = api_sign_in(client, system, "applicant", ["applicant"])
    content = b"<script>alert(document.cookie)</script>"
    upload = client.post(
        "/api/v1/files",
        headers=headers,
        data={"file": (io.BytesIO(content), "../../static/js/<evil>|x.html", "text/html")},
    )
    assert upload.status_code == 201, upload.get_data(as_text=True)
    file_id = upload.json["id"]
    assert upload.json["name"] == "evilx.html"
    with system.engine.unit_of_work() as uow:
        assert uow.session.get(StoredFile, file_id).content == content
    static = Path(app.static_folder)
    assert not any(content in p.read_bytes() for p in static.rglob("*") if p.is_file())
    assert client.get("/static/js/evilx.html").status_code == 404

    system.tasks.add_user("applicant", ["applicant"], password=PASSWORD)
    assert log_in(client, "applicant", PASSWORD).status_code == 302
    for response in (
        client.get(f"/api/v1/files/{file_id}", headers=headers),
        client.get(f"/files/{file_id}"),
    ):
        assert response.status_code == 200
        assert response.get_data() == content
        assert response.headers["Content-Disposition"] == "attachment; filename=evilx.html"
        assert response.mimetype == "application/octet-stream"  # never rendered as HTML
        assert_security_headers(response, "download")


def test_an_ordinary_upload_keeps_its_type(client, system):
    headers = api_sign_in(client, system, "applicant", ["applicant"])
    upload = client.post(
        "/api/v1/files",
        headers=headers,
        data={"file": (io.BytesIO(b"%PDF-1.4"), "营业执照.pdf", "application/pdf")},
    )
    response = client.get(f"/api/v1/files/{upload.json['id']}", headers=headers)
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]


# -- logs ---------------------------------------------------------------------------------


def test_no_password_or_token_reaches_any_log(client, system, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # statements, parameters, rows
    system.tasks.add_user("wang", ["center_staff"], password=PASSWORD)
    wrong = "Wrong-guess-8812"

    assert log_in(client, "wang", wrong).status_code == 401
    assert log_in(client, "wang", PASSWORD).status_code == 302
    assert client.get("/inbox").status_code == 200
    assert get_token(client, "wang", wrong).status_code == 401
    token = get_token(client, "wang", PASSWORD).json["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/instances", headers=bearer).status_code == 200
    assert client.post("/api/v1/instances", headers=bearer, json={"process": 1}).status_code == 400
    stale = {"Authorization": f"Bearer {token}x"}
    assert client.get("/api/v1/instances", headers=stale).status_code == 401

    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)  # SQL is seen
    logged = caplog.text + "\n".join(repr(r.__dict__) for r in caplog.records)
    for secret in (PASSWORD, wrong, token):
        assert secret not in logged
