"""Vodo's answer as its clients read it (issue 10): every key of the document's example response,
with the document's JSON type, recursively; ``id`` and ``reference`` integers that count only the
tenant's own credit notes; and the door free of SQL.

``vodo_document_response.json`` is the seed document's "Response Example", verbatim (seed 001); when
the seed documents are at hand (``/work/shared/seeds``) the test checks it still is.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from salesrefund.http.dialects.vodo_render import credit_note_ids
from test_vodo import (  # noqa: F401 (fixtures)
    DOCUMENT_FORM, PATH, exact, form_of, items, make_vodo, send, success, vodo,
)

HERE = Path(__file__).resolve().parent
SEED = Path("/work/shared/seeds/001_ecb7dee0841bd3bb.txt")
EXAMPLE = json.loads((HERE / "vodo_document_response.json").read_text(encoding="utf-8"))

# What the answer shows beyond the document (docs/doors/vodo.md, "The response"), by place.
EXTRAS = {
    "data": {"rounding", "currency", "pos_id", "cash_amount", "visa_amount", "customer_amount", "payments",
             "all_items", "pdf_url"},
    "data.invoice": set(),
    "data.invoice.all_items[]": {"tax_rate", "total", "refunded_qty", "refunded_amount"},
}


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    return {str: "string", dict: "object", list: "array"}[type(value)]


def differences(ours, theirs, place: str) -> list[str]:
    """Where ``ours`` differs from the document's ``theirs`` in keys or JSON types (recursively;
    each element of an array against the document's first)."""
    if json_type(ours) != json_type(theirs):
        return [f"{place}: {json_type(ours)} where the document has {json_type(theirs)}"]
    if isinstance(theirs, dict):
        found = [f"{place}.{key}: missing" for key in theirs if key not in ours]
        extra = set(ours) - set(theirs) - EXTRAS.get(place, set())
        found += [f"{place}.{key}: not in the document" for key in sorted(extra)]
        for key in theirs.keys() & ours.keys():
            found += differences(ours[key], theirs[key], f"{place}.{key}")
        return found
    if isinstance(theirs, list) and theirs:
        return [d for element in ours for d in differences(element, theirs[0], f"{place}[]")]
    return []


@pytest.mark.skipif(not SEED.exists(), reason="the seed documents are not at hand")
def test_the_example_is_the_seed_documents_own():
    text = SEED.read_text(encoding="utf-8")
    start = text.index("Response Response Example\n") + len("Response Response Example\n")
    assert json.loads(text[start:text.index("\nRequest\nHeader Params")]) == EXAMPLE


def test_the_answer_has_every_key_of_the_documents_example_with_its_type(client, vodo):  # noqa: F811
    response = send(client, {**vodo["headers"], "Accept-Language": "ar"}, DOCUMENT_FORM)
    body = exact(response)
    assert set(body) == set(EXAMPLE) and body["status"] is True and body["message"] == EXAMPLE["message"]
    data = success(response)
    assert differences(data, EXAMPLE["data"], "data") == []
    assert len(data["invoice"]["all_items"]) == 6
    # the fields salesrefund has no value for: Vodo's own "none" of the document's type
    assert (data["user_id"], data["currency_id"], data["business_id"], data["representative_id"],
            data["created_by"], data["rate_value"]) == (0, 0, 0, 0, None, 0)
    invoice = data["invoice"]
    assert (invoice["uuid"], invoice["user_id"], invoice["reference"], invoice["pos_session_id"],
            invoice["total_amount_word"], invoice["due_date"]) == ("", 0, 121052, 0, "0", None)
    item = invoice["all_items"][0]
    assert (item["id"], item["invoice_id"], item["sort"], item["item_id"], item["account_id"], item["employee_id"],
            item["created_at"]) == (1, 121052, 1, 3025, 0, None, invoice["created_at"])
    listed = success(client.get(PATH + "121052", headers=vodo["headers"]))
    assert differences(listed[0], EXAMPLE["data"], "data") == []


def test_id_and_reference_are_integers_that_count_only_the_tenants_own_credit_notes(client, make_vodo):  # noqa: F811
    a, b = make_vodo(), make_vodo()
    first = success(send(client, a["headers"], DOCUMENT_FORM))
    second = success(send(client, a["headers"], form_of(**items({"price": "50"}))))
    theirs = success(send(client, b["headers"], DOCUMENT_FORM))
    assert [(n["id"], n["reference"]) for n in (first, second, theirs)] == \
        [(2026000001, 1), (2026000002, 2), (2026000001, 1)]
    assert [c["all_items"][0]["credit_note_id"] for c in (first, second)] == [first["uuid"], second["uuid"]]
    # the list shows the ids the create answer gave; the uuid opens the refund natively
    listed = success(client.get(PATH + "121052", headers=a["headers"]))
    assert [(n["id"], n["reference"], n["uuid"]) for n in listed] == \
        [(c["id"], c["reference"], c["uuid"]) for c in (first, second)]
    assert a["native"](f"/v1/refunds/{second['uuid']}")["number"] == "CN-2026-000002"


@pytest.mark.parametrize("number, ids", [
    ("CN-2026-000001", (2026000001, 1)), ("CN-2026-000022", (2026000022, 22)),
    ("CN-2027-1234567", (20271234567, 1234567)),  # past a million in a year: still unique
    (None, (0, 0)), ("CRM-7", (0, 0)),
])
def test_the_ids_of_a_credit_note_number(number, ids):
    assert credit_note_ids(number) == ids


def test_the_door_has_no_sql():
    source = HERE.parents[1] / "src" / "salesrefund" / "http" / "dialects"
    for name in ("vodo.py", "vodo_render.py"):
        text = (source / name).read_text(encoding="utf-8")
        for word in ("sqlalchemy", "store.conn", "uow.conn", "_where(", "store import tables", "tables as t"):
            assert word not in text, (name, word)


def test_the_stores_vodo_queries_see_only_their_tenant(engine, client, make_vodo):  # noqa: F811
    from sqlalchemy import select
    from sqlalchemy.exc import NoResultFound

    from salesrefund.store import tables as t
    from salesrefund.store.queries import vodo as queries
    from salesrefund.store.repository import TenantStore

    a, b = make_vodo(), make_vodo()
    mine = success(send(client, a["headers"], DOCUMENT_FORM))
    theirs = success(send(client, b["headers"], form_of(**items({"price": "50"}), cash_amount="50")))
    assert [n["uuid"] for n in success(client.get(PATH + "121052", headers=b["headers"]))] == [theirs["uuid"]]
    with engine.connect() as conn:
        tenant_b = conn.execute(select(t.tenants.c.id).where(t.tenants.c.name == b["name"])).scalar_one()
        store = TenantStore(conn, tenant_b)
        [note] = queries.credit_notes(store, "121052")
        assert note.refund["public_id"] == theirs["uuid"] and note.payments == (("cash", 5000),)
        standing = note.standing
        assert (standing.paid_out_minor, standing.invoice.refunded_total_minor) == (5000, 5000)  # not A's 100.00
        with pytest.raises(NoResultFound):
            queries.credit_note(store, mine["uuid"], standing)
        assert queries.credit_notes(store, "no-such-invoice") is None
