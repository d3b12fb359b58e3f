"""Plain-word messages, in English and Chinese, for what a schema keyword refused."""

from __future__ import annotations

import json

from jsonschema.exceptions import ValidationError

Message = dict[str, str]  # language -> text


def message(en: str, zh: str) -> Message:
    return {"en": en, "zh-CN": zh}


REQUIRED = message("required", "必填")
UNKNOWN_FIELD = message("unknown field", "未知字段")
COMPUTED = message("computed by the server", "由系统自动计算，请勿填写")
NOT_AN_OBJECT = message("must be an object", "必须是对象")
TOO_LARGE = message("the total is too large", "合计数额过大")

_TYPE_NAMES = {
    "string": ("a text", "文本"),
    "integer": ("an integer", "整数"),
    "number": ("a number", "数字"),
    "boolean": ("true or false", "是或否（true/false）"),
    "array": ("a list", "列表"),
    "object": ("an object", "对象"),
    "null": ("null", "空值"),
}

_FORMATS = {
    "date": message("must be a date (YYYY-MM-DD)", "必须是日期（YYYY-MM-DD）"),
    "date-time": message(
        "must be a date-time with a UTC offset",
        "必须是带时区的日期时间，如 2026-10-15T09:00:00+08:00",
    ),
    "phone": message("must be a phone number", "必须是电话号码（数字，可含 +、-、空格、括号）"),
}


def _show(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _type(expected: str | list[str]) -> Message:
    names = [expected] if isinstance(expected, str) else list(expected)
    en = " or ".join(_TYPE_NAMES.get(n, (n, n))[0] for n in names)
    zh = "或".join(_TYPE_NAMES.get(n, (n, n))[1] for n in names)
    return message(f"must be {en}", f"必须是{zh}")


def _enum(error: ValidationError) -> Message:
    values = list(error.validator_value)
    titles = error.schema.get("x-enum-titles", {}) if isinstance(error.schema, dict) else {}
    en = ", ".join(_show(v) for v in values)
    zh_items = []
    for value in values:
        title = titles.get(value, {}).get("zh-CN") if isinstance(value, str) else None
        zh_items.append(f"{title}（{value}）" if title else _show(value))
    return message(f"must be one of: {en}", f"必须是以下之一：{'、'.join(zh_items)}")


def _count(n: int, en_one: str, en_many: str) -> str:
    return en_one if n == 1 else en_many


def message_for(error: ValidationError) -> Message:
    """The message for one error; a schema may override it with "x-messages": {keyword: ...}."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("x-messages", {}).get(error.validator)
    if custom:
        return message(custom["en"], custom.get("zh-CN", custom["en"]))
    keyword, value = error.validator, error.validator_value
    match keyword:
        case "required":
            return REQUIRED
        case "readOnly":
            return COMPUTED
        case "type":
            return _type(value)
        case "enum":
            return _enum(error)
        case "const":
            return message(f"must be {_show(value)}", f"必须为 {_show(value)}")
        case "format":
            return _FORMATS.get(value, message("has the wrong format", "格式不正确"))
        case "minimum":
            return message(f"must be at least {value}", f"不能小于 {value}")
        case "maximum":
            return message(f"must be at most {value}", f"不能大于 {value}")
        case "exclusiveMinimum":
            return message(f"must be greater than {value}", f"必须大于 {value}")
        case "exclusiveMaximum":
            return message(f"must be less than {value}", f"必须小于 {value}")
        case "minItems":
            en = _count(value, "at least 1 item required", f"at least {value} items required")
            return message(en, f"至少需要 {value} 项")
        case "maxItems":
            return message(f"at most {value} items allowed", f"最多 {value} 项")
        case "uniqueItems":
            return message("must not contain duplicates", "不能有重复项")
        case "x-unique-by":
            return message("appears twice in the list", "与列表中前面的一项重复")
        case "minLength":
            en = _count(value, "must not be empty", f"must be at least {value} characters")
            zh = "不能为空" if value == 1 else f"至少 {value} 个字符"
            return message(en, zh)
        case "maxLength":
            return message(f"must be at most {value} characters", f"不能超过 {value} 个字符")
        case "pattern":
            return message("has the wrong format", "格式不正确")
    return message(error.message, "填写不正确")
