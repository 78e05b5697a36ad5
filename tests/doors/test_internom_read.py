"""Internom: reading a refund by its reference (issue 13). The document has no read method; the
answer is the create answer's envelope and fields plus what was refunded, in the request's own
field names and number style (MNT without minor units)."""

from __future__ import annotations

import pytest

from salesrefund.service.tenants import create_token
from test_internom import DOCUMENT_EXAMPLE, PATH, error, example, line, make_shop, refunds


@pytest.fixture
def shop(engine, clock, api_for):
    return make_shop(engine, clock, api_for)


def read(shop, token=None, headers=None, **params):
    return shop["api"].client.get(PATH, params=params, headers={
        "Authorization": f"Bearer {token or shop['token']}", **(headers or {})})


def test_read_by_reference_or_reference_id_after_the_documents_example(shop):
    made = shop["post"](None, raw=DOCUMENT_EXAMPLE)
    assert made.status_code == 200, made.text
    [native] = refunds(shop)
    by_reference = read(shop, reference="S/221031/070515")
    assert by_reference.status_code == 200, by_reference.text
    assert by_reference.text.count('"quantity":1,')  # numbers as Internom writes them, not strings
    body = by_reference.json()
    assert body["status"] == "success" and body["message"] == "Requestedoperationisvalid"
    assert body["data"] == {
        **made.json()["data"], "state": "posted", "reference": "S/221031/070515",
        "reference_id": "ecom-WKTkw061pzPmw", "customer_id": "8218528", "branch_name": "5044251-export",
        "order_line": [{"product_id": "9789919517953", "quantity": 1, "price_unit": 14900, "price_total": 14900}],
        "amount_total": 14900, "posting_date": native["posting_date"]}
    assert read(shop, reference_id="ecom-WKTkw061pzPmw").json() == body


def test_a_voided_refund_reads_as_voided(shop):
    assert shop["post"](example(reference="R-V", reference_id="RID-V")).status_code == 200
    [native] = refunds(shop)
    assert shop["api"].post(f"/v1/refunds/{native['id']}/void").status_code == 200
    assert read(shop, reference="R-V").json()["data"]["state"] == "voided"


def test_unknown_references_and_bad_queries_in_internoms_error_shape(shop):
    assert shop["post"](example(reference="R_%", reference_id="RID_%")).status_code == 200
    error(read(shop, reference="R-NOPE"), 404, "not_found", "reference")
    error(read(shop, reference_id="RID-X%"), 404, "not_found", "reference_id")  # LIKE wildcards are literal
    assert read(shop, reference_id="RID_%").status_code == 200
    error(read(shop), 400, "validation_error", "reference")
    error(read(shop, reference="a", reference_id="b"), 400, "validation_error", "reference")
    error(read(shop, reference="x" * 101), 400, "validation_error", "reference")
    answer = error(read(shop, reference="R-NOPE", headers={"Accept-Language": "mn"}), 404, "not_found")
    assert answer["message"] == "reference R-NOPE бүхий буцаалт олдсонгүй"


def test_credentials_permission_and_tenancy(engine, clock, api_for, shop):
    assert shop["post"](example(reference="R-T", reference_id="RID-T")).status_code == 200
    error(shop["api"].client.get(PATH, params={"reference": "R-T"}), 401, "unauthorized")
    writer = create_token(engine, shop["name"], permissions=("refund:create",), clock=clock)["token"]
    error(read(shop, token=writer, reference="R-T"), 403, "forbidden")
    other = make_shop(engine, clock, api_for)
    error(read(other, reference="R-T"), 404, "not_found", "reference")  # another tenant's: not found
    error(read(other, reference_id="RID-T"), 404, "not_found", "reference_id")
