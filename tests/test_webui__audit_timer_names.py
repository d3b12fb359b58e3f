"""The auditor's page says which timer an event started or stopped by the timer's name (its
English name in English), as its list of waiting timers does — never by the element id."""

import re
from html import unescape

import pytest

from webui.app import create_app

from .test_webui__audit_pages import run  # noqa: F401 — the fixture
from .test_webui__instance_pages import page, sign_in

IDS = ("review_deadline", "activity_day")


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


def timer_changes(client, instance_id, seqs) -> dict[str, set[str]]:
    """{"started"|"stopped": the names shown} over the given steps, from replay.json."""
    found = {"started": set(), "stopped": set()}
    for seq in seqs:
        step = client.get(f"/instances/{instance_id}/replay.json?seq={seq}").get_json()
        for kind in found:
            found[kind] |= {t["display_name"] for t in step["changed"][f"timers_{kind}"]}
        for timer in step["timers"]:
            assert timer["display_name"] not in IDS
    return found


def changes_list(html: str) -> str:
    return unescape(re.search(r'data-field="changes".*?</ul>', html, re.S).group(0))


def test_started_and_stopped_timers_are_named(client, system, run):  # noqa: F811
    sign_in(client, system, "auditor", ["auditor"])
    seqs = [e.seq for e in run.events()]
    found = timer_changes(client, run.instance_id, seqs)
    assert found == {"started": {"一个工作日内未审核", "活动日"}, "stopped": found["stopped"]}
    assert found["stopped"] == {"一个工作日内未审核", "活动日"}

    fired = next(e for e in run.events() if e.type == "timer_fired")
    html = changes_list(page(client, f"/instances/{run.instance_id}/audit?seq={fired.seq}"))
    assert "结束计时</span> 活动日" in html
    for element in IDS:
        assert element not in html

    client.get("/lang/en")
    found = timer_changes(client, run.instance_id, seqs)
    assert found["started"] == {"Review overdue (1 working day)", "Activity day"}
    html = changes_list(page(client, f"/instances/{run.instance_id}/audit?seq={fired.seq}"))
    assert "Activity day" in html and "活动日" not in html
