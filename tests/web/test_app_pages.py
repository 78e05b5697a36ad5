"""The back office page (/app), driven over HTTP without a browser: sign-in and sessions,
CSRF, the refund form built on the API's own rules, errors next to their fields in the user's
language, drafts, voids, lists, search, the dashboard, permissions and tenant isolation."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from page_kit import Page, csrf_of, field_error
from salesrefund.app import create_app
from salesrefund.service.refunds import Settings
from salesrefund.store import tables as t


def _count(engine, table, tenant_id):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)).scalar()


def _refunds(engine, tenant_id):
    return _count(engine, t.refunds, tenant_id)


# -- sign-in and sessions -------------------------------------------------------------------------

def test_every_page_asks_a_stranger_to_sign_in_and_writes_nothing(app, books, engine):
    page = Page(app)
    tenant_id = books["tenant"]["id"]
    for path in ("/app/dashboard", "/app/invoices", "/app/invoices/INV-1", "/app/refunds", "/app/refunds/x",
                 "/app/refunds/x/confirm/void", "/app/refunds/x/edit"):
        response = page.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/app/login?next="), path
    before = _refunds(engine, tenant_id)
    for path in ("/app/invoices/INV-1/refunds", "/app/invoices/INV-1/preview", "/app/refunds/x/void",
                 "/app/refunds/x/edit"):
        response = page.post(path, {"qty-1": "1", "csrf": "x"})
        assert response.status_code == 303 and "/app/login" in response.headers["location"], path
    assert _refunds(engine, tenant_id) == before
    assert page.get("/app").headers["location"] == "/app/dashboard"


def test_sign_in_sets_a_strict_httponly_session_cookie_kept_in_the_database(app, books, engine):
    page = Page(app)
    refused = page.sign_in("sr_not_a_token")
    assert refused.status_code == 401 and "not valid" in refused.text and "sr_app=" not in refused.headers.get(
        "set-cookie", "")
    response = page.sign_in(books["tenant"]["token"])
    assert response.status_code == 303 and response.headers["location"] == "/app/dashboard"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("sr_app="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/app" in cookie and "Max-Age=" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    with engine.connect() as conn:
        stored = conn.execute(select(t.app_sessions.c.token_hash).where(
            t.app_sessions.c.tenant_id == books["tenant"]["id"])).scalars().all()
    assert hashlib.sha256(value.encode()).hexdigest() in stored and value not in stored
    assert page.get("/app/dashboard").status_code == 200


def test_sign_in_without_the_forms_nonce_is_refused(app, books):
    page = Page(app)
    page.client.get("/app/login")
    response = page.client.post("/app/login", data={"token": books["tenant"]["token"], "nonce": "forged"})
    assert response.status_code == 401 and "sr_app=" not in response.headers.get("set-cookie", "")


def test_a_session_is_shared_by_every_process_and_ends_with_idleness_revocation_or_sign_out(
        engine, clock, books, make_token):
    first, second = create_app(engine, clock=clock, settings=Settings()), create_app(engine, clock=clock)
    token = make_token(books["tenant"], "refund:read")
    page = Page(first, token)
    other = Page(second)  # another worker: the same cookie works there
    other.client.cookies = page.client.cookies
    assert other.get("/app/refunds").status_code == 200
    clock.current += timedelta(minutes=29)
    assert page.get("/app/refunds").status_code == 200  # use slides the idle expiry forward
    clock.current += timedelta(minutes=31)
    assert page.get("/app/refunds").status_code == 303  # 31 idle minutes: signed out
    page = Page(first, token)
    from salesrefund.service.tenants import list_tokens, revoke_token
    credential = next(x["id"] for x in list_tokens(engine, books["tenant"]["tenant"]) if x["permissions"] == ["refund:read"])
    revoke_token(engine, credential, clock)
    assert page.get("/app/refunds").status_code == 303  # the token is revoked: so is its session
    page = Page(first, books["tenant"]["token"])
    assert page.post("/app/logout").status_code == 303
    assert page.get("/app/refunds").status_code == 303


# -- the refund form ------------------------------------------------------------------------------

def test_the_invoice_page_shows_sold_refunded_and_refundable_figures(app, books):
    api = books["api"]
    api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]})
    text = Page(app, books["tenant"]["token"]).get("/app/invoices/INV-1").text
    assert "INV-1" in text and 'id="qty-1"' in text and 'for="qty-1"' in text
    # line 1: 3 sold (34.50), 1 refunded (11.50), 2 refundable (23.00); per rate and per method too
    row = re.search(r'<tr>\s*<td>1</td>.*?</tr>', text, re.S).group(0)
    assert all(x in row for x in (">3<br><small>34.50", ">1<br><small>11.50", ">2<br><small>23.00"))
    assert "39.98 + 6.00" in text and "10.00 + 1.50" in text and "29.98 + 4.50" in text  # 15 %: sold, refunded, left
    assert re.search(r"<td>card</td><td class=\"num\">47.98</td><td class=\"num\">11.50</td>", text)


def test_preview_is_the_engines_own_and_writes_nothing(app, books, engine):
    page = Page(app, books["tenant"]["token"])
    page.get("/app/invoices/INV-1")
    before = _refunds(engine, books["tenant"]["id"])
    shown = page.preview("INV-1", {"qty-1": "1", "qty-2": "1", "restock": "on"}).json()
    api = books["api"].post("/v1/refunds/preview", {"invoice": "INV-1", "lines": [
        {"line": 1, "quantity": "1", "restock": True}, {"line": 2, "quantity": "1", "restock": True}]}).json()
    assert shown["ok"] is True
    assert {k: shown["preview"][k] for k in ("net", "tax", "total", "lines", "payments")} == {
        k: api[k] for k in ("net", "tax", "total", "lines", "payments")}
    assert _refunds(engine, books["tenant"]["id"]) == before
    refused = page.preview("INV-1", {"qty-1": "7"}).json()
    assert refused["ok"] is False and "exceeds" in refused["errors"]["qty-1"]
    assert page.client.post("/app/invoices/INV-1/preview", data={"qty-1": "1"}).status_code == 403  # no CSRF header


def test_issuing_from_the_page_records_the_same_refund_as_the_api(app, books, engine):
    page = Page(app, books["tenant"]["token"])
    csrf = csrf_of(page.get("/app/invoices/INV-1").text)
    response = page.post("/app/invoices/INV-1/refunds", {"csrf": csrf, "idem": "k-1", "qty-2": "1", "restock": "on",
                                                          "reason": "Damaged", "state": "posted"})
    assert response.status_code == 303
    refund_id = re.search(r"/app/refunds/([0-9a-f-]+)\?done=issued", response.headers["location"]).group(1)
    mine = books["api"].get(f"/v1/refunds/{refund_id}").json()
    theirs = books["api"].post("/v1/refunds", {"invoice": "INV-1", "reason": "Damaged",
                                               "lines": [{"line": 2, "quantity": "1", "restock": True}]}).json()
    strip = lambda v: {k: x for k, x in v.items() if k not in ("id", "number", "created_at", "posted_at", "channel")}
    assert strip(mine) == strip(theirs) and mine["channel"] == "app" and mine["state"] == "posted"
    shown = page.get(response.headers["location"]).text
    assert mine["number"] in shown and "The refund was recorded." in shown
    assert "4100" in shown and "Sales returns" in shown  # the journal entry, with account names
    # the same form sent twice (a double click) records one refund
    before = _refunds(engine, books["tenant"]["id"])
    again = page.post("/app/invoices/INV-1/refunds", {"csrf": csrf, "idem": "k-1", "qty-2": "1", "restock": "on",
                                                       "reason": "Damaged", "state": "posted"})
    assert again.status_code == 303 and again.headers["location"] == response.headers["location"]
    assert _refunds(engine, books["tenant"]["id"]) == before


def test_without_the_csrf_token_or_from_another_site_nothing_is_written(app, books, engine):
    page = Page(app, books["tenant"]["token"])
    before = _refunds(engine, books["tenant"]["id"])
    form = {"qty-2": "1", "state": "posted", "idem": "csrf-1"}
    assert page.post("/app/invoices/INV-1/refunds", form, csrf=False).status_code == 403
    assert page.post("/app/invoices/INV-1/refunds", {**form, "csrf": "forged"}).status_code == 403
    assert page.post("/app/invoices/INV-1/refunds", form, headers={"Origin": "https://evil.example"}).status_code == 403
    assert _refunds(engine, books["tenant"]["id"]) == before


@pytest.mark.parametrize("form, field, english", [
    ({"qty-1": "9"}, "qty-1", "quantity 9 exceeds the 3 still refundable on line 1"),
    ({"qty-1": "abc"}, "qty-1", None),
    ({"amt-2": "99.00"}, "amt-2", None),
    ({"qty-1": "1", "pay-method-0": "card", "pay-amount-0": "1.00"}, "pay-amount-0", None),
    ({"free_amount": "5.00", "free_tax_rate": "x"}, "free_tax_rate", None),
    ({"qty-1": "1", "posting_date": "2030-01-01"}, "posting_date", None),
    ({}, "lines", None),
])
def test_an_error_is_shown_next_to_the_field_that_caused_it_and_nothing_is_written(app, books, engine, form, field,
                                                                                    english):
    page = Page(app, books["tenant"]["token"])
    before = _refunds(engine, books["tenant"]["id"])
    response = page.post("/app/invoices/INV-1/refunds", {**form, "state": "posted", "idem": f"e-{field}"})
    assert response.status_code == 422, response.text
    message = field_error(response.text, field)
    assert message, (field, response.text[-3000:])
    if english:
        assert message == english
    if field != "lines":  # "choose something" is said under the lines table, which has no input of its own
        assert f'id="{field}"' in response.text and 'aria-invalid="true"' in response.text
    assert _refunds(engine, books["tenant"]["id"]) == before
    for name, value in form.items():  # what was typed is kept
        if name.startswith(("qty-", "amt-", "free_", "pay-amount")):
            assert f'value="{value}"' in response.text


def test_errors_and_the_page_in_arabic_are_right_to_left(app, books):
    page = Page(app, books["tenant"]["token"], language="ar")
    response = page.post("/app/invoices/INV-1/refunds", {"qty-1": "9", "state": "posted", "idem": "ar-1"})
    assert '<html lang="ar" dir="rtl">' in response.text
    assert field_error(response.text, "qty-1") == "الكمية 9 تتجاوز الكمية المتبقية القابلة للإرجاع (3) في السطر 1"
    assert "المرتجعات" in page.get("/app/refunds").text or "استرداد" in page.get("/app/refunds").text


@pytest.mark.parametrize("language, word", [("mn", "Буцаалт"), ("ms", "Bayaran balik"), ("en", "Refunds")])
def test_the_page_speaks_mongolian_and_malay(app, books, language, word):
    page = Page(app, books["tenant"]["token"], language=language)
    text = page.get("/app/refunds").text
    assert f'<html lang="{language}" dir="ltr">' in text and word in text


def test_language_is_chosen_by_a_link_and_kept_for_the_session(app, books):
    page = Page(app, books["tenant"]["token"])
    switched = page.get("/app/language/ar", next="/app/refunds")
    assert switched.status_code == 303 and switched.headers["location"] == "/app/refunds"
    assert 'dir="rtl"' in page.get("/app/refunds").text
    assert page.get("/app/language/ar", next="https://evil.example/").headers["location"] == "/app/login"


# -- drafts, posting, voiding, deleting ----------------------------------------------------------

def test_a_draft_is_saved_edited_posted_and_then_voided_with_confirmations(app, books):
    page = Page(app, books["tenant"]["token"])
    made = page.post("/app/invoices/INV-1/refunds", {"qty-1": "1", "state": "draft", "idem": "d-1", "restock": "on"})
    refund_id = re.search(r"/app/refunds/([0-9a-f-]+)", made.headers["location"]).group(1)
    assert books["api"].get(f"/v1/refunds/{refund_id}").json()["state"] == "draft"
    edit_form = page.get(f"/app/refunds/{refund_id}/edit").text
    assert 'value="1"' in edit_form and f'action="/app/refunds/{refund_id}/edit"' in edit_form
    edited = page.post(f"/app/refunds/{refund_id}/edit", {"qty-1": "2", "reason": "Two damaged", "idem": "e-1",
                                                         "restock": "on"})
    assert edited.status_code == 303, edited.text
    draft = books["api"].get(f"/v1/refunds/{refund_id}").json()
    assert (draft["lines"][0]["quantity"], draft["reason"], draft["total"]) == ("2", "Two damaged", "23.00")
    confirm = page.get(f"/app/refunds/{refund_id}/confirm/post").text
    assert "Post this draft?" in confirm and f'action="/app/refunds/{refund_id}/post"' in confirm
    assert page.post(f"/app/refunds/{refund_id}/post", {"idem": "p-1"}).status_code == 303
    posted = books["api"].get(f"/v1/refunds/{refund_id}").json()
    assert posted["state"] == "posted" and posted["number"]
    assert page.post(f"/app/refunds/{refund_id}/void", {"idem": "v-1", "reason": "mistake"}).status_code == 303
    assert books["api"].get(f"/v1/refunds/{refund_id}").json()["state"] == "voided"
    shown = page.get(f"/app/refunds/{refund_id}").text
    assert "voided" in shown and shown.count("<table class=\"journal\"") == 2  # the entry and its reversal
    again = page.post(f"/app/refunds/{refund_id}/void", {"idem": "v-2"})  # voiding twice: refused, said why
    assert again.status_code == 422 and 'id="problem"' in again.text


def test_a_draft_is_deleted_after_confirmation(app, books):
    page = Page(app, books["tenant"]["token"])
    made = page.post("/app/invoices/INV-1/refunds", {"qty-3": "1", "state": "draft", "idem": "del-1"})
    refund_id = re.search(r"/app/refunds/([0-9a-f-]+)", made.headers["location"]).group(1)
    assert "Delete this draft?" in page.get(f"/app/refunds/{refund_id}/confirm/delete").text
    gone = page.post(f"/app/refunds/{refund_id}/delete")
    assert gone.status_code == 303 and books["api"].get(f"/v1/refunds/{refund_id}").status_code == 404


def test_a_reader_sees_no_actions_and_may_not_act(app, books, make_token, engine):
    api = books["api"]
    posted = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 3}]}).json()
    page = Page(app, make_token(books["tenant"], "refund:read"))
    shown = page.get(f"/app/refunds/{posted['id']}").text
    assert "/confirm/void" not in shown
    assert page.get(f"/app/refunds/{posted['id']}/confirm/void").status_code == 403
    assert page.post(f"/app/refunds/{posted['id']}/void", {"idem": "r-1"}).status_code == 403
    before = _refunds(engine, books["tenant"]["id"])
    assert page.post("/app/invoices/INV-1/refunds", {"qty-1": "1", "idem": "r-2"}).status_code == 403
    assert _refunds(engine, books["tenant"]["id"]) == before
    assert api.get(f"/v1/refunds/{posted['id']}").json()["state"] == "posted"


def test_another_tenants_refunds_and_invoices_are_not_found(app, books, make_tenant, api_for):
    other = make_tenant()
    theirs = api_for(other["token"])
    theirs.post("/v1/customers", {"code": "C1", "name": "Theirs"})
    refund = books["api"].post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}).json()
    page = Page(app, other["token"])
    for path in (f"/app/refunds/{refund['id']}", f"/app/refunds/{refund['number']}", "/app/invoices/INV-1",
                 f"/app/refunds/{refund['id']}/confirm/void"):
        assert page.get(path).status_code == 404, path
    assert page.post(f"/app/refunds/{refund['id']}/void", {"idem": "x"}).status_code == 404
    assert books["api"].get(f"/v1/refunds/{refund['id']}").json()["state"] == "posted"
    assert "INV-1" not in page.get("/app/invoices", number="INV").text


# -- lists, search, dashboard --------------------------------------------------------------------

def test_invoice_search_by_number_customer_barcode_and_date(app, books):
    page = Page(app, books["tenant"]["token"])
    for params in ({"number": "INV-"}, {"customer": "C1"}, {"customer": "Customer One"}, {"barcode": "BC-MUG"},
                   {"barcode": "MUG"}, {"day": "2026-06-01"}):
        assert '/app/invoices/INV-1"' in page.get("/app/invoices", **params).text, params
    for params in ({"number": "NOPE"}, {"barcode": "BC-NONE"}, {"day": "2026-06-02"}):
        assert '/app/invoices/INV-1"' not in page.get("/app/invoices", **params).text, params
    assert "YYYY-MM-DD" in page.get("/app/invoices", day="June").text


def test_the_refund_list_filters_and_pages(app, books):
    api = books["api"]
    made = [api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}).json()
            for _ in range(3)]
    draft = api.post("/v1/refunds", {"invoice": "INV-1", "state": "draft", "lines": [{"line": 2, "quantity": "1"}]})
    page = Page(app, books["tenant"]["token"])
    drafts = page.get("/app/refunds", state="draft").text
    assert draft.json()["id"] in drafts and made[0]["id"] not in drafts
    one = page.get("/app/refunds", number=made[1]["number"]).text
    assert made[1]["id"] in one and made[0]["id"] not in one
    first = page.get("/app/refunds", invoice="INV-1").text
    assert all(m["id"] in first for m in made)
    # pages of 20: 25 refunds need a second page
    for _ in range(21):
        api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"amount": "0.01"}]})
    listed = page.get("/app/refunds").text
    next_link = re.search(r'href="(/app/refunds\?[^"]*cursor=[^"]+)"', listed)
    assert next_link and listed.count('<tr><td><a href="/app/refunds/') == 20
    second = page.get(next_link.group(1).replace("&amp;", "&")).text
    assert second.count('<tr><td><a href="/app/refunds/') == 25 - 20


def test_the_dashboard_charts_posted_refunds(app, books):
    api = books["api"]
    api.post("/v1/refunds", {"invoice": "INV-1", "reason": "Damaged", "lines": [{"line": 1, "quantity": "1"}]})
    api.post("/v1/refunds", {"invoice": "INV-1", "reason": "Damaged", "lines": [{"line": 2, "quantity": "1"}]})
    text = Page(app, books["tenant"]["token"]).get("/app/dashboard").text
    assert text.count("<svg") == 4 and 'role="img"' in text
    assert "2026-06-15: 2</title>" in text  # refunds per day
    assert "2026-06-15: 17.24 EUR</title>" in text  # 11.50 + 5.74
    assert "BOOK: 33.3 % (1 / 3)</title>" in text and "MUG: 50.0 % (1 / 2)</title>" in text
    assert "Damaged: 17.24 EUR (2)</title>" in text


def test_pages_load_nothing_from_other_sites(app, books):
    page = Page(app, books["tenant"]["token"])
    for path in ("/app/login", "/app/dashboard", "/app/invoices/INV-1", "/app/refunds"):
        response = page.get(path)
        assert "default-src 'self'" in response.headers["content-security-policy"]
        for url in re.findall(r'(?:src|href)="([^"]+)"', response.text):
            assert not url.startswith(("http:", "https:", "//")), (path, url)
            if url.startswith("/app/static/"):
                assert page.get(url).status_code == 200, url


def test_a_corrected_form_goes_through_after_a_refusal(app, books, engine):
    """A refused form comes back with a new idempotency key: the stored refusal does not block the
    corrected retry (and the refused one replays as refused)."""
    page = Page(app, books["tenant"]["token"])
    refused = page.post("/app/invoices/INV-1/refunds", {"qty-1": "9", "state": "posted", "idem": "first"})
    assert refused.status_code == 422
    fresh = re.search(r'name="idem" value="([^"]+)"', refused.text).group(1)
    assert fresh != "first"
    before = _refunds(engine, books["tenant"]["id"])
    done = page.post("/app/invoices/INV-1/refunds", {"qty-1": "1", "state": "posted", "idem": fresh})
    assert done.status_code == 303 and _refunds(engine, books["tenant"]["id"]) == before + 1


def test_a_refund_page_serves_its_documents_through_the_session(app, books):
    """The refund page links the credit note's PDF and e-invoice XML (issue 11's documents),
    served through the page's session; what the seller has not yet given is named."""
    page, api = Page(app, books["tenant"]["token"]), books["api"]
    refund = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}).json()
    shown = page.get(f"/app/refunds/{refund['id']}").text
    assert f"/app/refunds/{refund['id']}/document.pdf" in shown and "document.xml" in shown
    pdf = page.get(f"/app/refunds/{refund['id']}/document.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and refund["number"] in pdf.headers["content-disposition"]
    missing = page.get(f"/app/refunds/{refund['id']}/document.xml")
    assert missing.status_code == 422 and "set it first" in missing.text  # no seller details yet
    seller = {"legal_name": "Books GmbH", "vat_number": "DE123456789", "street": "Hauptstrasse 1",
              "city": "Berlin", "postal_code": "10115", "country": "DE"}
    assert api.client.put("/v1/seller", json=seller, headers=api.headers()).status_code == 200
    assert api.client.put("/v1/customers/C1/address", headers=api.headers(), json={
        "street": "Marktplatz 5", "city": "Hamburg", "postal_code": "20095", "country": "DE"}).status_code == 200
    xml = page.get(f"/app/refunds/{refund['id']}/document.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml"), xml.text[:300]
    assert b"<cbc:ID>" + refund["number"].encode() + b"</cbc:ID>" in xml.content
    stranger = Page(app).get(f"/app/refunds/{refund['id']}/document.pdf")
    assert stranger.status_code == 303 and not stranger.content.startswith(b"%PDF")  # asked to sign in
    draft = api.post("/v1/refunds", {"invoice": "INV-1", "state": "draft", "lines": [{"line": 1, "quantity": "1"}]}).json()
    assert "document.pdf" not in page.get(f"/app/refunds/{draft['id']}").text
