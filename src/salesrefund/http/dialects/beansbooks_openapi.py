"""The OpenAPI description of the BeansBooks door's requests (``beansbooks.py``)."""

from __future__ import annotations

from .beansbooks_params import JSON

EXAMPLE = {
    "auth_uid": 1, "auth_key": "beans-demo-key", "auth_expiration": 1700000000,
    "id": 1, "date_created": "2026-06-15",
    "lines": [{"description": "Coffee beans, 1 kg", "amount": -49.99, "quantity": 1}],
    "taxes": [{"tax_id": 1}],
}
REFUND_OPENAPI = {"requestBody": {"required": True, "content": {JSON: {"schema": {
    "type": "object",
    "required": ["auth_uid", "auth_key", "auth_expiration", "id", "date_created", "lines"],
    "properties": {
        "auth_uid": {"type": ["integer", "string"], "pattern": "^[0-9]+$"}, "auth_key": {"type": "string"}, "auth_expiration": {"type": "integer"},
        "id": {"type": "integer", "description": "the sale to refund (our invoice number)"},
        "date_created": {"type": "string", "format": "date", "description": "the refund's date (posting date)"},
        "lines": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["description", "amount", "quantity"],
            "properties": {
                "description": {"type": "string", "description": "the sale line's description"},
                "amount": {"type": "number", "description": "per unit, negative on a refund"},
                "quantity": {"type": "integer", "minimum": 1},
                "account_id": {"type": "integer"}, "tax_exempt": {"type": "boolean"}}}},
        "taxes": {"type": "array", "items": {"type": "object", "required": ["tax_id"],
                                             "properties": {"tax_id": {"type": "integer"}}}},
        "sale_number": {"type": "string"}, "order_number": {"type": "string"},
        "po_number": {"type": "string"}, "quote_number": {"type": "string"},
        "tax_exempt": {"type": "boolean"}, "account_id": {"type": "integer"},
    }}, "example": EXAMPLE}}}}


READ_OPENAPI = {"requestBody": {"required": True, "content": {JSON: {"schema": {
    "type": "object", "required": ["auth_uid", "auth_key", "auth_expiration", "id"],
    "properties": {
        "auth_uid": {"type": ["integer", "string"], "pattern": "^[0-9]+$"}, "auth_key": {"type": "string"}, "auth_expiration": {"type": "integer"},
        "id": {"type": "integer", "description": "the refund sale's id, as the refund answer's data.sale.id"},
    }}, "example": {"auth_uid": 1, "auth_key": "beans-demo-key", "auth_expiration": 1700000000, "id": 2026000001}}}}}
