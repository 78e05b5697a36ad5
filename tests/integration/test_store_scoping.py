"""Every write of the store is scoped to its tenant by construction (issue 10, R19): a tenant's
store handed another tenant's row ids changes nothing of that tenant, on every write by id."""

from __future__ import annotations

from salesrefund.service.events import Webhooks
from salesrefund.service.tenants import authenticate
from salesrefund.service.uow import UnitOfWork
from salesrefund.store.tenants import Tenants

INVOICE = {"number": "INV-S", "customer": "C1", "date": "2026-06-01",
           "lines": [{"description": "Service", "quantity": "1", "unit_price": "10.00", "tax_rate": "0"}],
           "payments": [{"method": "card", "amount": "10.00"}]}


def books_of(make_tenant, api_for):
    tenant = make_tenant()
    api = api_for(tenant["token"])
    assert api.post("/v1/customers", {"code": "C1", "name": "One"}).status_code == 201
    assert api.post("/v1/invoices", INVOICE).status_code == 201
    posted = api.post("/v1/refunds", {"invoice": "INV-S", "lines": [{"line": 1, "amount": "1.00"}]})
    draft = api.post("/v1/refunds", {"invoice": "INV-S", "state": "draft", "lines": [{"line": 1, "amount": "2.00"}]})
    assert posted.status_code == draft.status_code == 201, (posted.text, draft.text)
    return {"tenant": tenant, "api": api, "posted": posted.json(), "draft": draft.json()}


def snapshot(api, b) -> dict:
    return {"posted": api.get(f"/v1/refunds/{b['posted']['id']}").json(),
            "draft": api.get(f"/v1/refunds/{b['draft']['id']}").json(),
            "invoice": api.get("/v1/invoices/INV-S").json(),
            "journal": api.get(f"/v1/refunds/{b['posted']['id']}/journal").json(),
            "hooks": api.get("/v1/webhooks").json()}


def test_a_tenants_store_cannot_write_another_tenants_rows_by_id(engine, clock, make_tenant, api_for):
    a, b = books_of(make_tenant, api_for), books_of(make_tenant, api_for)
    b_id = b["tenant"]["id"]
    hooks = Webhooks(engine, clock, allow_private=True)
    hooks.create(b_id, url="http://127.0.0.1:9/hook", events=["refund.created"])
    with UnitOfWork(engine, b_id, write=False) as uow:  # B's row ids, as an attacker would guess them
        posted = uow.store.refund_by_public_id(b["posted"]["id"])
        draft = uow.store.refund_by_public_id(b["draft"]["id"])
        invoice = uow.store.invoice_row("INV-S")
        endpoint = uow.store.live_endpoints()[0]
    before = snapshot(b["api"], b)

    with UnitOfWork(engine, a["tenant"]["id"]) as uow:
        store = uow.store
        store.set_refund(posted["id"], {"reason": "hijacked", "state": "voided"})
        store.set_refund_payment(posted["id"], reference="hijacked")
        store.delete_refund_parts(draft["id"])
        store.delete_refund(draft["id"])
        store.set_invoice_entry(invoice["id"], None)
        store.delete_endpoint(endpoint["id"], clock.now())
        assert not uow.tenants.revoke_credential(a["tenant"]["id"], b["tenant"]["credential_id"], clock.now())
        uow.commit()

    assert snapshot(b["api"], b) == before
    assert authenticate(engine, b["tenant"]["token"], clock) is not None
    with UnitOfWork(engine, b_id, write=False) as uow:
        assert uow.store.invoice_row("INV-S")["journal_entry_id"] == invoice["journal_entry_id"] is not None
        assert [p["reference"] for p in uow.store.refund_payments(posted["id"])] == [None]


def test_revoking_a_credential_names_its_tenant(engine, clock, make_tenant):
    a, b = make_tenant(), make_tenant()
    with engine.connect() as conn:
        tenants = Tenants(conn)
        assert not tenants.revoke_credential(a["id"], b["credential_id"], clock.now())
        assert tenants.revoke_credential(b["id"], b["credential_id"], clock.now())
        conn.rollback()
