"""The archive bundle: one zip with every form as data and as a printable page, the
generated documents, the uploaded files, the audit log with its hashes and a script that
verifies it, and a manifest of checksums."""

import hashlib
import io
import json
import subprocess
import sys
import zipfile

import pytest

from webui.app import create_app

from .api_client import sign_in as api_sign_in
from .driver import ENTERPRISES
from .test_webui__instance_pages import sign_in


@pytest.fixture
def app(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system)


@pytest.fixture
def archived(driver):
    driver.start()
    driver.run_to_activity()
    driver.run_from_activity_to_follow_up()
    driver.complete_all("follow_up_visit")
    driver.complete("archive_file")
    assert driver.instance().status == "archived"
    return driver


def fetch(app, system, instance_id, username="auditor", roles=("auditor",)):
    client = app.test_client()
    headers = api_sign_in(client, system, username, list(roles))
    response = client.get(f"/api/v1/instances/{instance_id}/archive.zip", headers=headers)
    return response


def unpack(content: bytes, where):
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        assert bundle.testzip() is None
        names = bundle.namelist()
        bundle.extractall(where)
    return names


def verify(path, cwd):
    return subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_the_bundle_holds_forms_documents_files_and_the_audit_log(app, system, archived, tmp_path):
    response = fetch(app, system, archived.instance_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    assert "DD-2026-0001-archive.zip" in response.headers["Content-Disposition"]
    names = unpack(response.data, tmp_path)

    assert names[0] == "manifest.json"
    for expected in (
        "instance.json",
        "forms/application.json",
        "forms/application.html",
        "forms/review_application.json",
        "forms/fill_questionnaire.html",
        "forms/prepare_budget.html",
        "forms/archive_file.json",
        "documents/official_letter.html",
        "documents/archive_record.html",
        "audit/events.jsonl",
        "audit/head.json",
        "audit/replay.json",
        "audit/verify.py",
    ):
        assert expected in names, expected
    uploads = [n for n in names if n.startswith("files/")]
    assert len(uploads) == 1 and uploads[0].endswith("-营业执照.pdf")
    assert (tmp_path / uploads[0]).read_bytes() == b"%PDF-1.4 test"

    questionnaires = json.loads((tmp_path / "forms/fill_questionnaire.json").read_text("utf-8"))
    assert sorted(s["subject"] for s in questionnaires["submissions"]) == sorted(ENTERPRISES)
    assert all(s["on_behalf_of"] in ENTERPRISES for s in questionnaires["submissions"])
    page = (tmp_path / "forms/prepare_budget.html").read_text("utf-8")
    assert "费用明细" in page and "专家费" in page and "3620.5" in page  # titles, not keys
    assert "<script" not in page
    application = (tmp_path / "forms/application.html").read_text("utf-8")
    assert "石家庄市中小企业服务中心" in application

    instance = json.loads((tmp_path / "instance.json").read_text("utf-8"))
    assert instance["status"] == "archived" and instance["data"] == archived.instance().data
    assert json.loads((tmp_path / "audit/replay.json").read_text("utf-8"))["divergences"] == []

    lines = (tmp_path / "audit/events.jsonl").read_text("utf-8").splitlines()
    events = archived.events()
    assert len(lines) == len(events)
    first = json.loads(lines[0])
    assert first["event"]["seq"] == 1 and first["hash"] == events[0].hash
    head = json.loads((tmp_path / "audit/head.json").read_text("utf-8"))
    assert (head["seq"], head["hash"]) == (events[-1].seq, events[-1].hash)


def test_the_manifest_checksums_every_file(app, system, archived, tmp_path):
    names = unpack(fetch(app, system, archived.instance_id).data, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json"}
    for path, entry in listed.items():
        content = (tmp_path / path).read_bytes()
        assert entry["size"] == len(content), path
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), path
    assert manifest["instance"] == archived.instance_id
    assert manifest["file_number"] == "DD-2026-0001"


def test_the_bundled_script_verifies_the_log_and_finds_an_edited_event(
    app, system, archived, tmp_path
):
    unpack(fetch(app, system, archived.instance_id).data, tmp_path)
    script = tmp_path / "audit" / "verify.py"
    ok = verify(script, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK:" in ok.stdout and "files match the manifest" in ok.stdout

    # The log alone (no manifest beside it): the chain itself must give the edit away.
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "verify.py").write_bytes(script.read_bytes())
    events = (tmp_path / "audit" / "events.jsonl").read_text("utf-8").splitlines()
    (alone / "events.jsonl").write_text("\n".join(events) + "\n", encoding="utf-8")
    assert verify(alone / "verify.py", alone).returncode == 0

    index = next(i for i, line in enumerate(events) if '"plan_survey"' in line)
    record = json.loads(events[index])
    record["event"]["actor"] = "someone_else"
    events[index] = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    (alone / "events.jsonl").write_text("\n".join(events) + "\n", encoding="utf-8")
    failed = verify(alone / "verify.py", alone)
    assert failed.returncode == 1
    assert f"event {record['event']['seq']} does not match its hash" in failed.stdout

    # In the bundle, the edited log fails too (and so does its checksum).
    (tmp_path / "audit" / "events.jsonl").write_text("\n".join(events) + "\n", encoding="utf-8")
    assert verify(script, tmp_path).returncode == 1


def test_a_removed_event_or_a_cut_off_end_fails_verification(app, system, archived, tmp_path):
    unpack(fetch(app, system, archived.instance_id).data, tmp_path)
    log = tmp_path / "audit" / "events.jsonl"
    script = tmp_path / "audit" / "verify.py"
    manifest = tmp_path / "manifest.json"
    manifest.unlink()  # the chain's own checks only
    lines = log.read_text("utf-8").splitlines()
    log.write_text("\n".join(lines[:5] + lines[6:]) + "\n", encoding="utf-8")
    assert "where event 6 should be" in verify(script, tmp_path).stdout
    log.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    cut = verify(script, tmp_path)
    assert cut.returncode == 1 and "missing from its end" in cut.stdout


def test_whoever_may_see_the_instance_may_fetch_its_bundle(app, system, archived):
    assert fetch(app, system, archived.instance_id, "applicant", ["applicant"]).status_code == 200
    other = fetch(app, system, archived.instance_id, "other_applicant", ["applicant"])
    assert other.status_code == 404
    assert fetch(app, system, "nope").status_code == 404
    client = app.test_client()
    assert client.get(f"/api/v1/instances/{archived.instance_id}/archive.zip").status_code == 401

    browser = app.test_client()
    sign_in(browser, system, "center_head", ["center_head"])
    response = browser.get(f"/instances/{archived.instance_id}/archive.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
