"""In English the inbox's process filter names each process by its English name: the
`name_en` property of its <bpmn:process>, as every other element of a diagram is named in
English; in Chinese, by its BPMN name."""

import re
from pathlib import Path

import pytest

from engine import bpmn_xml
from webui.app import create_app

from .test_webui__instance_pages import page, sign_in

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
ENGLISH = {
    "order_service": "Order-based service",
    "customer_order": "Customer order management",
    "order_execution": "Order execution",
    "order_production": "Order-driven production",
    "order_receiving": "Order receiving",
}


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


def process_options(html: str) -> dict[str, str]:
    select = re.search(r'<select name="process">(.*?)</select>', html, re.S).group(1)
    return dict(re.findall(r'<option value="(\w+)" >([^<]*)</option>', select))


def test_every_diagram_people_start_has_an_english_name():
    for path in sorted(PROCESSES.glob("*.bpmn")):
        root = bpmn_xml.parse(path.read_bytes(), path.name).getroot()
        for process in root.iterfind("bpmn:process", bpmn_xml.NS):
            if process.get("id") in ENGLISH:
                assert bpmn_xml.properties(process).get("name_en") == ENGLISH[process.get("id")]


def test_the_process_filter_speaks_the_uis_language(client, system):
    sign_in(client, system, "center_staff", ["center_staff"])
    chinese = process_options(page(client, "/inbox"))
    assert chinese["order_service"] == "订单式服务"
    assert chinese["customer_order"] == "客户订单管理"
    client.get("/lang/en")
    english = process_options(page(client, "/inbox"))
    assert set(english) == set(chinese)
    assert english == {key: ENGLISH[key] for key in english}
    assert not any(re.search(r"[\u4e00-\u9fff]", name) for name in english.values())
