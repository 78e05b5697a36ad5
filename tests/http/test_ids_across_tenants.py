"""Nothing counts across tenants in what a tenant sees (issue 10, "Security at the edges"): list
cursors and journal entry ids are a keyed permutation of the global row ids, so tenant B cannot
count tenant A's writes from them; they stay stable, unique and usable."""

from __future__ import annotations

import base64

from salesrefund.service import views


def _refund(api, invoice="INV-1", line=1):
    response = api.post("/v1/refunds", {"invoice": invoice, "lines": [{"line": line, "quantity": "1"}]})
    assert response.status_code == 201, response.text
    return response.json()


def _journal_ids(api) -> list[int]:
    return [entry["id"] for entry in api.get("/v1/journal", limit=200).json()["items"]]


def test_tenant_b_cannot_count_tenant_a_from_journal_ids_or_cursors(books, make_tenant, api_for, engine):
    b = books["api"]
    before = _journal_ids(b)
    _refund(b)
    ids_one = _journal_ids(b)
    # tenant A posts seven refunds' worth of journal entries in between
    a_tenant = make_tenant()
    a = api_for(a_tenant["token"])
    assert a.post("/v1/customers", {"code": "C", "name": "C"}).status_code == 201
    assert a.post("/v1/products", {"code": "P", "name": "P", "stock_tracked": False}).status_code == 201
    for n in range(7):
        assert a.post("/v1/invoices", {"number": f"A-{n}", "customer": "C", "date": "2026-06-01",
                                       "lines": [{"product": "P", "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}],
                                       "payments": [{"method": "card", "amount": "1.00"}]}).status_code == 201
    _refund(b, line=2)
    ids_two = _journal_ids(b)
    new_one, new_two = ids_one[-1], ids_two[-1]
    assert ids_two[:len(ids_one)] == ids_one and ids_one[:len(before)] == before  # stable
    assert len(set(ids_two)) == len(ids_two)
    gap = new_two - new_one
    assert gap not in range(1, 30), f"the gap {gap} counts tenant A's entries"
    assert ids_two != sorted(ids_two) or len(ids_two) < 4 or ids_two != list(range(ids_two[0], ids_two[0] + len(ids_two)))
    assert all(0 <= i < 2**53 for i in ids_two)  # exact in a JavaScript number

    # cursors: not the base64 of a global id, and they still page through everything
    cursor = b.get("/v1/refunds", limit=1).json()["next"]
    assert a.post("/v1/customers", {"code": "C2", "name": "C2"}).status_code == 201  # A writes again
    assert cursor and b.get("/v1/refunds", limit=1).json()["next"] == cursor  # the same page, the same cursor
    shown = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    with engine.connect() as conn:
        from sqlalchemy import text
        global_ids = {row[0] for row in conn.execute(text("SELECT id FROM refunds"))}
    assert shown not in global_ids
    seen, page = [], b.get("/v1/refunds", limit=1).json()
    while True:
        seen += [r["id"] for r in page["items"]]
        if not page["next"]:
            break
        page = b.get("/v1/refunds", limit=1, cursor=page["next"]).json()
    assert len(seen) == len(set(seen)) == len(b.get("/v1/refunds", limit=200).json()["items"])


def test_the_permutation_is_one_to_one_and_inverts():
    for value in (0, 1, 2, 12345, 2**40 + 7, 2**52 - 1):
        shown = views.public_number("journal", 3, value)
        assert views.private_number("journal", 3, shown) == value
    assert len({views.public_number("cursor", 0, v) for v in range(2000)}) == 2000


def test_the_audit_trail_credential_ids_count_nothing_across_tenants(books, make_tenant, make_token, api_for):
    """Tenant B's credentials as its audit trail shows them: made before and after tenant A made
    seven credentials, their shown ids have no gap of 7 (or any small gap), and each is the same
    in every audit record of that credential (the issue's finding: a gap of exactly 7)."""
    tenant = books["tenant"]
    first = api_for(make_token(tenant, "refund:create", "refund:read"))
    one = _refund(first)
    a_tenant = make_tenant()
    for _ in range(7):
        make_token(a_tenant, "refund:read")
    second = api_for(make_token(tenant, "refund:create", "refund:read"))
    two = _refund(second, line=2)
    shown = [books["api"].get(f"/v1/refunds/{r['id']}/audit").json()["items"][0]["credential_id"] for r in (one, two)]
    assert shown[0] != shown[1]
    assert abs(shown[1] - shown[0]) > 30, f"the gap {shown[1] - shown[0]} counts tenant A's credentials"
    again = _refund(first, line=3)
    assert books["api"].get(f"/v1/refunds/{again['id']}/audit").json()["items"][0]["credential_id"] == shown[0]
