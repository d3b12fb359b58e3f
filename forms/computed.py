"""Computed fields: `"readOnly": true, "x-computed": "sum:items.amount"` on a top-level property.

The server fills them in after validation; input may not carry them (see validation.py).
A summed field must declare a maximum and its list a maxItems, so that every total the
schema lets through is a finite number of yuan; the sum itself is exact and never raises,
whatever finite number it is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

_CENT = Decimal("0.01")
OPERATIONS = ("sum",)
# Exact for any finite float (about 650 digits from 1e308 down to 5e-324) and any integer
# json.loads gives (at most 4300 digits): the sum and its rounding to fen never trap.
_EXACT = Context(prec=10_000, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999)


def _decimal(value: object) -> Decimal:
    # str() keeps the number the person typed: Decimal(str(0.1)) == Decimal("0.1").
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Decimal(0)
    if isinstance(value, float) and not math.isfinite(value):
        return Decimal(0)  # the schema refuses NaN and Infinity before this
    return Decimal(value) if isinstance(value, int) else Decimal(str(value))


@dataclass(frozen=True)
class ComputedField:
    """`name` = `operation` over `item_field` of every row of the list `array`."""

    name: str
    operation: str
    array: str
    item_field: str

    def compute(self, data: dict[str, Any]) -> float:
        """The total rounded to fen; `inf` only if the schema let through a sum beyond float."""
        rows = data.get(self.array) or []
        amounts = (_decimal(row.get(self.item_field)) for row in rows if isinstance(row, dict))
        total = Decimal(0)
        for amount in amounts:
            total = _EXACT.add(total, amount)
        return float(_EXACT.quantize(total, _CENT))


def _bounded(node: dict[str, Any], keyword: str, exclusive: str | None = None) -> bool:
    def finite(value: object) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (math.isfinite(value))
        )

    return finite(node.get(keyword)) or (exclusive is not None and finite(node.get(exclusive)))


def parse_computed(schema: dict[str, Any]) -> list[ComputedField]:
    """The computed fields a form schema declares; ValueError if one is malformed."""
    fields = []
    properties = schema.get("properties", {})
    for name, prop in properties.items():
        spec = prop.get("x-computed")
        if spec is None:
            continue
        operation, _, target = str(spec).partition(":")
        array, _, item_field = target.partition(".")
        if operation not in OPERATIONS or not array or not item_field:
            raise ValueError(f"{name}: x-computed must look like 'sum:items.amount', not {spec!r}")
        if prop.get("readOnly") is not True:
            raise ValueError(f"{name}: a computed field must be readOnly")
        rows = properties.get(array, {})
        if rows.get("type") != "array" or item_field not in rows.get("items", {}).get(
            "properties", {}
        ):
            raise ValueError(f"{name}: x-computed names {target!r}, which the form does not have")
        summed = rows["items"]["properties"][item_field]
        if not _bounded(rows, "maxItems") or not _bounded(summed, "maximum", "exclusiveMaximum"):
            raise ValueError(
                f"{name}: x-computed sums {target!r}: the list needs a maxItems and "
                f"{item_field!r} a maximum, so that the total stays a finite number"
            )
        fields.append(ComputedField(name, operation, array, item_field))
    return fields
