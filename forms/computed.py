"""Computed fields: `"readOnly": true, "x-computed": "sum:items.amount"` on a top-level property.

The server fills them in after validation; input may not carry them (see validation.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_CENT = Decimal("0.01")
OPERATIONS = ("sum",)


def _decimal(value: object) -> Decimal:
    # str() keeps the number the person typed: Decimal(str(0.1)) == Decimal("0.1").
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Decimal(0)
    return Decimal(value) if isinstance(value, int) else Decimal(str(value))


@dataclass(frozen=True)
class ComputedField:
    """`name` = `operation` over `item_field` of every row of the list `array`."""

    name: str
    operation: str
    array: str
    item_field: str

    def compute(self, data: dict[str, Any]) -> float:
        rows = data.get(self.array) or []
        amounts = (_decimal(row.get(self.item_field)) for row in rows if isinstance(row, dict))
        total = sum(amounts, Decimal(0)).quantize(_CENT, rounding=ROUND_HALF_UP)
        return float(total)


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
        fields.append(ComputedField(name, operation, array, item_field))
    return fields
