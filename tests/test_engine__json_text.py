"""The engine's JSON encoders (made once, engine/json_text.py) write exactly what
json.dumps writes with the same options: stored states, JSON columns and audit hashes
made before them read and verify the same."""

import json
from decimal import Decimal

import pytest

from engine import json_text

VALUES = [
    {"b": 1, "a": [1.5, None, True, False, "中文", {"z": -0.0}]},
    '石家庄市中小企业局\n\t"引号"',
    "\ud800 lone surrogate",
    {"nested": {"deeper": [[], {}, [{"x": 10**30}]]}, 3: "int key", None: "none key"},
    [float("nan"), float("inf"), -float("inf"), 1e300, 1 / 3],
    0,
    None,
    True,
]

DUMPS = {
    "compact": {"separators": (",", ":")},
    "readable": {"ensure_ascii": False},
    "canonical": {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False},
}


@pytest.mark.parametrize("name", sorted(DUMPS))
@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_each_encoder_writes_what_json_dumps_writes(name, value):
    if name == "canonical" and isinstance(value, dict) and None in value:
        value = {str(k): v for k, v in value.items()}  # sorting mixed keys fails either way
    assert getattr(json_text, name)(value) == json.dumps(value, **DUMPS[name])


@pytest.mark.parametrize("name", sorted(DUMPS))
def test_a_value_json_cannot_write_is_refused_as_json_dumps_refuses_it(name):
    with pytest.raises(TypeError, match="Decimal is not JSON serializable"):
        getattr(json_text, name)({"amount": Decimal("1.5")})
    assert getattr(json_text, name)({"after": "a refusal"})  # nothing is left half-done


@pytest.mark.parametrize("name", sorted(DUMPS))
def test_a_python_without_the_c_encoder_writes_the_same(name, monkeypatch):
    """The fallback for a Python built without json's C accelerator."""
    monkeypatch.setattr(json_text, "c_make_encoder", None)
    options = DUMPS[name]
    encode = json_text._encoder(
        ensure_ascii=options.get("ensure_ascii", True),
        item=options.get("separators", (", ", ": "))[0],
        key=options.get("separators", (", ", ": "))[1],
        sort_keys=options.get("sort_keys", False),
    )
    for value in VALUES[:3] + VALUES[4:]:
        assert encode(value) == getattr(json_text, name)(value) == json.dumps(value, **options)
    with pytest.raises(TypeError, match="Decimal is not JSON serializable"):
        encode({"amount": Decimal("1.5")})
