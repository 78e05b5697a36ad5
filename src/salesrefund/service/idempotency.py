"""Exactly once (R17): fingerprints, stored responses and replays.

Keys are per tenant. The fingerprint is computed from the decoded, canonical command (so
``"1"``, ``1`` and ``"1.0"`` are the same request) plus the operation and the door. The key claim,
the refund, its effects and the stored response commit in one transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from ..domain.errors import reject

KEY_LIFETIME_HOURS = 72
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Response:
    """A rendered response, as sent and as stored for replays."""

    status: int
    content_type: str
    body: str
    replayed: bool = False


# The namespaces the server itself writes keys in: a door's natural keys (``<door>:<field>:<key>``),
# the back office page's (``app:<key>``) and the escaped client keys below.
RESERVED_PREFIXES = ("internom:", "vodo:", "crmcom:", "beansbooks:", "snr2u:", "app:", "client:")
_ESCAPE = "client:"


def client_key(key: str | None) -> str | None:
    """A client's ``Idempotency-Key`` header as stored: unchanged, unless it starts like a key the
    server writes itself (``beansbooks:id:17`` is BeansBooks' key for sale 17), which is stored
    as ``client:<key>`` (a key too long for that, as ``client:~<its SHA-256>``). So a native (or
    Vodo) key can never claim, block or replay a door's natural key or the back office's, and two
    different client keys never meet (the mapping is one-to-one)."""
    if key is None or not key.startswith(RESERVED_PREFIXES):
        return key
    escaped = _ESCAPE + key
    if len(escaped) > MAX_KEY_LENGTH:
        escaped = _ESCAPE + "~" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return escaped


def fingerprint(operation: str, channel: str, payload: object) -> str:
    payload = plain(payload)
    canonical = json.dumps([operation, channel, payload], sort_keys=True, default=str,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def plain(value):
    """``dataclasses.asdict`` without its deep copies, for commands made of dataclasses, tuples,
    dicts and plain values: the same JSON (a tuple and a list both write an array), a fifth of the
    cost (issue 14)."""
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None and not isinstance(value, type):
        return {name: plain(getattr(value, name)) for name in fields}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def replay_of(records: list[tuple[str, dict]], fingerprint_now: str) -> Response:
    """The stored response for a replay, or ``idempotency_key_reused`` naming the first key that
    was used for a different request. ``records`` are (field, stored record) pairs."""
    for field, record in records:
        if record["fingerprint"] != fingerprint_now:
            raise reject("idempotency_key_reused", field,
                         "this key was already used for a different request")
    record = records[0][1]
    return Response(record["status_code"], record["content_type"], record["body"], replayed=True)


def key_in_use(field: str):
    error = reject("idempotency_key_in_use", field,
                   "a request with this key is still being processed; retry shortly")
    error.retry_after = 1
    return error
