"""The OpenAPI description of the CRM.COM door's requests (``crmcom.py``), from its parameters."""

from __future__ import annotations

from ...service.idempotency import MAX_KEY_LENGTH
from .crmcom_params import (CHANNEL, DATES, IDENTIFIERS, LIST_MAX, MAX_UDF_STRING, REQUIRED, STATES, TEXTS,
                            UDF_DATES, UDF_FLOATS, UDF_STRINGS)

JSON = "application/json"
STRING = {"type": "string"}
_DATE_TEXT = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?$"}
_NUMBER = {"type": ["number", "string"], "description": "exact: a JSON number or a decimal string"}
_REFUND_IDENTIFIER = {"type": "object", "description": "exactly one of id, number"}
_FIELDS_SET = {"name": "fields_set", "in": "query", "schema": STRING, "description": "comma-separated field names"}
_TOKEN = {"name": "token", "in": "query", "required": True, "schema": STRING}


def _body(required: list[str], properties: dict) -> dict:
    schema = {"type": "object", "required": required, "additionalProperties": False, "properties": properties}
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


def _identifier(fields) -> dict:
    return {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
            "description": f"exactly one of {', '.join(fields)}",
            "properties": {key: {"type": ["string", "integer"] if key == "id" else "string", "minLength": 1,
                                 "maxLength": 200, "pattern": r"\S"} for key in fields}}


LOGIN = _body(["username", "password", "organisation"],
              {name: STRING for name in ("username", "password", "organisation", "unit")})
CREATE = _body(["token", *REQUIRED], {
    "token": STRING, "fields_set": STRING,
    **{name: _identifier(fields) for name, fields in IDENTIFIERS.items()},
    "life_cycle_state": {"enum": list(STATES)}, "refund_amount": _NUMBER,
    **{name: STRING for name in TEXTS}, **{name: _DATE_TEXT for name in DATES},
    "back_office_code": {"type": "string", "maxLength": MAX_KEY_LENGTH - len(f"{CHANNEL}:back_office_code:")},
    **{name: {"type": "string", "maxLength": MAX_UDF_STRING} for name in UDF_STRINGS},
    **{name: _NUMBER for name in UDF_FLOATS}, **{name: _DATE_TEXT for name in UDF_DATES}})
SHOW = {"parameters": [
    _TOKEN,
    {"name": "refund_identifier", "in": "query", "required": True, "schema": STRING,
     "description": "id=<id>, number=<number>, {\"id\": ...} or a bare id or number"},
    _FIELDS_SET]}
LIST = {"parameters": [
    _TOKEN,
    {"name": "accounts_receivable_identifier", "in": "query", "required": True, "schema": STRING,
     "description": "number=<account number>, id=<id>, {\"number\": ...} or a bare account number"},
    {"name": "number_of_results", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": LIST_MAX}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    _FIELDS_SET]}
UPDATE = _body(["token", "refund_identifier"], {
    "token": STRING, "fields_set": STRING, "refund_identifier": _REFUND_IDENTIFIER,
    "life_cycle_state": {"enum": list(STATES)}, "refund_amount": _NUMBER,
    "notes": STRING, "issue_reason": STRING, "issue_on": _DATE_TEXT, "posted_on": _DATE_TEXT})
REJECT = _body(["token", "refund_identifier"],
               {"token": STRING, "fields_set": STRING, "refund_identifier": _REFUND_IDENTIFIER})
