"""Issue 9, item 10: a client's document number is unique in its tenant forever, not only for the
72 hours of its idempotency record. Before the fix the same SnR2U note (``AcCusRefundNoteMID``) or
Internom order (``reference`` / ``reference_id``) sent after 72 hours was recorded a second time."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from salesrefund.service.check import run_checks
from salesrefund.service.tenants import tenant_id_by_name
from salesrefund.store import tables as t

import test_crmcom as crmcom
import test_internom as internom
import test_snr2u as snr2u
from snr2u_helpers import FILLED
from test_crmcom import crm  # noqa: F401  (fixtures)
from test_internom import shop  # noqa: F401
from test_snr2u import demo, post  # noqa: F401

LATER = date(2026, 6, 19)  # 96 hours after the fixed clock's day: every idempotency record has expired
MID = "DocumentHeader.AcCusRefundNoteMID"


def test_snr2u_the_same_note_after_its_key_expired_is_a_duplicate(post, client, demo, clock):
    first = post(FILLED)
    assert first.status_code == 200, first.text
    assert post(FILLED).headers.get("Idempotent-Replayed") == "true"  # within 72 h: the replay
    clock.set(LATER)
    again = post(FILLED)
    assert again.status_code == 409, again.text
    [error] = snr2u.status(again)["Errors"]
    assert (error["FieldName"], error["ErrorCode"]) == (MID, "duplicate")
    assert "RN-00001" in error["Message"] and "CN-2026-000001" in error["Message"]
    assert len(snr2u.refunds_of(client, demo)) == 1
    # the answer is itself stored under the note's key: sent again, it is replayed
    assert post(FILLED).status_code == 409 and len(snr2u.refunds_of(client, demo)) == 1
    other = post(snr2u.renumber(FILLED, "RN-00002"))  # another number goes through
    assert other.status_code == 200, other.text


@pytest.mark.parametrize("field", ["reference", "reference_id"])
def test_internom_either_number_reused_after_expiry_is_a_duplicate(shop, clock, field):
    first = shop["post"](internom.example())
    assert first.status_code in (200, 201), first.text
    clock.set(LATER)
    other = {"reference": "S/OTHER/1", "reference_id": "ecom-OTHER"}
    other.pop(field)  # keep this one, change the other
    body = internom.error(shop["post"](internom.example(**other)), 409, "duplicate", field)
    assert "already used" in body["message"]
    assert len(internom.refunds(shop)) == 1


def test_crmcom_back_office_code_reused_after_expiry_is_a_duplicate(crm, clock):
    body = crmcom.minimal(back_office_code="BO-1")
    crmcom.ok(crmcom.create(crm, body))
    clock.set(LATER)
    crm.token = crmcom.login(crm.client, crm.username)  # the session expired with the clock
    crmcom.failed(crmcom.create(crm, crmcom.minimal(back_office_code="BO-1", refund_amount="1.00")),
                  409, "DUPLICATE", "back_office_code")
    assert crmcom.balance(crm) == "450.00"


def test_the_database_refuses_a_second_row_for_one_number(post, demo, engine):
    assert post(FILLED).status_code == 200
    tenant = tenant_id_by_name(engine, demo["name"])
    with engine.connect() as conn:
        row = conn.execute(select(t.document_numbers).where(t.document_numbers.c.tenant_id == tenant,
                                                            t.document_numbers.c.number == "RN-00001")).mappings().one()
        assert (row["door"], row["field"]) == ("snr2u", MID)
        with pytest.raises(IntegrityError):
            conn.execute(insert(t.document_numbers).values(**{**row}))
        conn.rollback()


def test_check_finds_a_document_number_recorded_twice(post, demo, engine):
    """Broken on purpose: a second note is given the first one's number behind the server's back."""
    assert post(FILLED).status_code == 200
    assert post(snr2u.renumber(FILLED, "RN-00002")).status_code == 200
    tenant = tenant_id_by_name(engine, demo["name"])

    def findings():
        return [f for f in run_checks(engine)["client_document_numbers"] if f.tenant_id == tenant]

    assert findings() == []
    r = t.refunds.c
    with engine.begin() as conn:
        conn.execute(t.refunds.update().where(r.tenant_id == tenant, r.reference == "RN-00002")
                     .values(reference="RN-00001"))
    try:
        found = findings()
        assert len(found) == 1 and "RN-00001" in found[0].detail, found
    finally:
        with engine.begin() as conn:
            conn.execute(t.refunds.update().where(r.tenant_id == tenant, r.number == "CN-2026-000002")
                         .values(reference="RN-00002"))
    assert findings() == []


def test_check_finds_stored_text_that_cannot_be_encoded(post, client, demo, engine):
    """Broken on purpose: a refund's metadata made to hold an escaped lone surrogate, as Vodo's
    ``charset=utf-7`` once stored one (every read of the refund then failed)."""
    assert post(FILLED).status_code == 200
    tenant = tenant_id_by_name(engine, demo["name"])

    def findings():
        return [f for f in run_checks(engine)["encodable_text"] if f.tenant_id == tenant]

    assert findings() == []
    r = t.refunds.c
    with engine.begin() as conn:
        before = conn.execute(select(r.metadata_json).where(r.tenant_id == tenant)).scalar_one()
        conn.execute(t.refunds.update().where(r.tenant_id == tenant).values(metadata_json='{"note": "\\ud800"}'))
    try:
        found = findings()
        assert len(found) == 1 and "refunds.metadata_json" in found[0].detail, found
    finally:
        with engine.begin() as conn:
            conn.execute(t.refunds.update().where(r.tenant_id == tenant).values(metadata_json=before))
    assert findings() == []
