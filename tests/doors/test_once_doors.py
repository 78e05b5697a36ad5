"""Issue 9, items 8 and 9 through the five doors: text that cannot be stored (a lone UTF-16
surrogate, or a charset other than UTF-8) is refused in the door's own error shape naming the
field, and nothing is recorded; an answer that used to fail after the commit (Vodo ids written
with a superscript digit) is rendered before it.

Before the fix: CRM.COM ``notes: "\\ud800"`` paid out and answered 500 (each retry paid out again:
500.00 -> 499.00 -> 498.00); Vodo's multipart ``charset=utf-7`` stored a lone surrogate; a Vodo
invoice or product numbered ``1²`` recorded the refund and then answered 500."""

from __future__ import annotations

import json
import pytest

from salesrefund.seeds import vodo as vodo_seed

import test_beansbooks as beansbooks
import test_crmcom as crmcom
import test_internom as internom
import test_snr2u as snr2u
import test_vodo as vodo_door
from snr2u_helpers import FILLED, as_json
from test_beansbooks import beans  # noqa: F401  (fixtures)
from test_crmcom import crm  # noqa: F401
from test_internom import shop  # noqa: F401
from test_snr2u import demo, post  # noqa: F401
from test_vodo import make_vodo, vodo  # noqa: F401


def ascii_json(value) -> str:
    return json.dumps(value, ensure_ascii=True, default=str)


# -- CRM.COM ------------------------------------------------------------------------------------------

def test_crmcom_notes_with_a_lone_surrogate_are_refused_and_pay_out_nothing(crm):
    before = crmcom.state(crm)
    body = crmcom.minimal(notes="paid \ud800 out")
    for _ in range(2):
        text = ascii_json({"token": crm.token, **body})
        response = crm.client.post(crmcom.CREATE, content=text, headers={"Content-Type": "application/json"})
        status = response.json()["status"]
        assert 400 <= response.status_code < 500, response.text
        assert status["code"] != "OK" and status["description"].startswith("notes: "), status
        assert "surrogate" in status["description"]
    assert crmcom.balance(crm) == "500.00"
    assert crmcom.state(crm) == before


# -- Internom ------------------------------------------------------------------------------------------

def test_internom_a_lone_surrogate_names_the_field(shop):
    body = internom.example(reference="S/\udc00/1")
    for _ in range(2):
        response = shop["post"](None, raw=ascii_json(body))
        error = internom.error(response, response.status_code, "validation_error", "reference")
        assert 400 <= response.status_code < 500
        assert "surrogate" in error["message"]
    assert internom.refunds(shop) == []


# -- BeansBooks ----------------------------------------------------------------------------------------

def test_beansbooks_a_lone_surrogate_answers_in_beansbooks_shape(beans):
    body = beans["body"](lines=[{"description": beansbooks.COFFEE + "\ud800", "amount": "-49.99", "quantity": 1}])
    response = beans["post"](raw=ascii_json(body))
    failed = beansbooks.failed(response, "validation_error", "lines[0].description")
    assert "surrogate" in failed["error"]
    assert beansbooks.refunds(beans) == []


# -- SnR2U ---------------------------------------------------------------------------------------------

def test_snr2u_json_with_a_lone_surrogate_names_the_field(post, client, demo):
    body = snr2u.change(as_json(FILLED), "DocumentHeader.DocumentReason", "broken \ud800")
    text = json.dumps(body, ensure_ascii=True, default=str)
    response = post(text, fmt="json", Accept="application/json")
    assert response.status_code == 400, response.text
    assert snr2u.errors(response)[0][0] == "DocumentHeader.DocumentReason", snr2u.status(response)
    assert "surrogate" in snr2u.status(response)["Errors"][0]["Message"]
    assert snr2u.refunds_of(client, demo) == []


# -- Vodo ------------------------------------------------------------------------------------------------

def _multipart(fields: list[tuple[str, str]], charset: str) -> tuple[bytes, str]:
    boundary = "b0undary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v.encode(charset)
             + b"\r\n" for k, v in fields]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}; charset={charset}"


@pytest.mark.parametrize("charset", ["utf-7", "latin-1", "utf-16"])
def test_vodo_refuses_a_charset_other_than_utf8(client, vodo, charset):
    fields = vodo_door.form_of(description="+2AA-")
    body, kind = _multipart(fields, "utf-7" if charset == "utf-7" else "ascii")
    response = client.post(vodo_door.PATH + vodo_seed.INVOICE, content=body,
                           headers={**vodo["headers"], "Content-Type": kind.replace("utf-7", charset)})
    failed = vodo_door.failure(response, 422, "validation_error", "Content-Type")
    assert "UTF-8" in failed["message"]
    assert vodo_door.refunds_of(vodo) == []


def test_vodo_utf8_with_its_charset_named_is_accepted(client, vodo):
    body, kind = _multipart(vodo_door.DOCUMENT_FORM, "utf-8")
    response = client.post(vodo_door.PATH + vodo_seed.INVOICE, content=body,
                           headers={**vodo["headers"], "Content-Type": kind})
    vodo_door.success(response)


def test_vodo_bytes_that_are_not_utf8_are_refused(client, vodo):
    fields = vodo_door.form_of(description="caf\u00e9")
    body, kind = _multipart(fields, "latin-1")
    response = client.post(vodo_door.PATH + vodo_seed.INVOICE, content=body,
                           headers={**vodo["headers"], "Content-Type": kind.replace("; charset=latin-1", "")})
    vodo_door.failure(response, 422, "validation_error")
    assert vodo_door.refunds_of(vodo) == []


def test_vodo_ids_with_a_superscript_digit_are_answered_not_500(client, vodo):
    """``"²".isdigit()`` is true but ``int("²")`` fails: the answer failed after the commit."""
    api = vodo["token"]
    headers = {"Authorization": f"Bearer {api}"}
    assert client.post("/v1/products", headers=headers, json={"code": "²", "name": "Squared"}).status_code == 201
    invoice = client.post("/v1/invoices", headers=headers, json={
        "number": "1²", "customer": vodo_seed.CUSTOMER, "date": "2026-06-01",
        "lines": [{"product": "²", "quantity": "2", "unit_price": "10", "tax_rate": "15"}],
        "payments": [{"method": "cash", "amount": "20.00"}]})
    assert invoice.status_code == 201, invoice.text
    fields = vodo_door.form_of(item_id="²", item_price="10", item_qty="1", item_desc="x", item_discount="",
                               employee_id="")
    data = vodo_door.success(vodo_door.send(client, vodo["headers"], fields, "1²"))
    assert data["invoice_id"] == "1²" and data["all_items"][0]["item_id"] == "²"
    refunds = vodo["native"]("/v1/refunds", invoice="1²")["items"]
    assert len(refunds) == 1


def test_crmcom_a_fault_after_the_commit_says_the_payout_was_recorded(crm, monkeypatch):
    from salesrefund.http.dialects import crmcom as door

    original = door._http
    calls = []

    def first_fails(response, headers=None):
        calls.append(response.status)
        if len(calls) == 1:
            raise RuntimeError("the connection to the client broke")
        return original(response, headers)

    monkeypatch.setattr(door, "_http", first_fails)
    response = crmcom.create(crm, crmcom.minimal(back_office_code="BO-AFTER"))
    monkeypatch.setattr(door, "_http", original)
    status = response.json()["status"]
    assert response.status_code == 500 and "after the request was recorded" in status["message"], status
    assert crmcom.balance(crm) == "450.00"  # it was recorded, as the answer says
    again = crmcom.create(crm, crmcom.minimal(back_office_code="BO-AFTER"))
    assert crmcom.ok(again) and again.headers["Idempotent-Replayed"] == "true"
    assert crmcom.balance(crm) == "450.00"


def test_a_fault_before_the_commit_still_says_nothing_was_recorded(crm, monkeypatch):
    from salesrefund.service import payouts

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(payouts, "payout_result", broken)
    response = crmcom.create(crm, crmcom.minimal(back_office_code="BO-BEFORE"))
    assert response.status_code == 500 and "nothing was recorded" in response.json()["status"]["message"]
    assert crmcom.balance(crm) == "500.00"


def test_vodo_urlencoded_bytes_that_are_not_utf8_are_refused(client, vodo):
    """``%ED%A0%80`` is the would-be UTF-8 of a lone surrogate: not UTF-8, so refused (it used to
    become U+FFFD silently)."""
    from urllib.parse import urlencode

    fields = [(k, v) for k, v in vodo_door.DOCUMENT_FORM if k != "description"]
    body = urlencode(fields).encode() + b"&description=broken%ED%A0%80text"
    response = client.post(vodo_door.PATH + vodo_seed.INVOICE, content=body,
                           headers={**vodo["headers"], "Content-Type": "application/x-www-form-urlencoded"})
    vodo_door.failure(response, 422, "validation_error", "Content-Type")
    assert vodo_door.refunds_of(vodo) == []
