"""JSON text without the per-call set-up of `json.dumps`.

`json.dumps` and `JSONEncoder.encode` build a new C encoder for every value; a step
encodes some sixty small values (its tasks' JSON, the audit events, the JSON columns),
and building the encoder cost as much as encoding (2.7 against 5.1 µs for a task's dict).
Each function here holds one encoder, made once. They differ from `json.dumps` in one
way only: a value that contains itself recurses until Python stops it, instead of being
reported as circular (no engine value is).
"""

from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii


def _refuse(value):
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _encoder(ensure_ascii: bool, item: str, key: str, sort_keys: bool):
    if c_make_encoder is None:  # a Python built without the C accelerator
        import json

        options = {"ensure_ascii": ensure_ascii, "separators": (item, key)}
        return lambda value: json.dumps(value, sort_keys=sort_keys, **options)
    text = encode_basestring_ascii if ensure_ascii else encode_basestring
    chunks = c_make_encoder(None, _refuse, text, None, key, item, sort_keys, False, True)

    def encode(value) -> str:
        if isinstance(value, str):
            return text(value)
        return "".join(chunks(value, 0))

    return encode


# As json.dumps(value, separators=(",", ":")): the engine state's text.
compact = _encoder(ensure_ascii=True, item=",", key=":", sort_keys=False)
# As json.dumps(value, ensure_ascii=False): JSON columns, Chinese kept as it is.
readable = _encoder(ensure_ascii=False, item=", ", key=": ", sort_keys=False)
# As json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False): the
# audit events' canonical text.
canonical = _encoder(ensure_ascii=False, item=",", key=":", sort_keys=True)
