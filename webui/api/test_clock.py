"""The test clock of API.md: only with DINGDAN_TEST_CLOCK=1, only for admin."""

from datetime import datetime

from flask import Blueprint, jsonify

from engine.errors import Forbidden

from .auth import authenticate
from .common import actor, json_body, system
from .errors import BadRequest
from .serialize import iso

bp = Blueprint("test_clock", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)


@bp.post("/test/clock")
def set_clock():
    if not actor().has("admin"):
        raise Forbidden("only admin may move the test clock")
    body = json_body({"now"}, {"now"})
    try:
        when = datetime.fromisoformat(body["now"])
    except (TypeError, ValueError):
        raise BadRequest("now must be an ISO 8601 date-time", fields={"now": "not ISO"}) from None
    if when.tzinfo is None:
        raise BadRequest("now needs a UTC offset", fields={"now": "no offset"})
    engine = system().engine
    with engine.sweep_lock:  # the scheduler's sweep cannot run between the move and ours
        engine.clock.set(when)
        fired = engine.fire_due()
    clock = engine.clock
    return jsonify({"now": iso(clock.now()), "fired": fired})
