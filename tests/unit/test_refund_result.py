"""The refund use cases answer with a typed result (issue 10): integers at fixed scales, which each
door renders in its own shape; the native form (decimal strings) is one renderer of it.

Worked example: 3 x 1.10 at 15 % tax (EUR, prices without tax): net 3.30, tax 0.495 -> 0.50,
gross 3.80; quantity 3 is 30,000 (1/10,000), the unit price 1.10 is 11,000, the rate 150,000."""

from __future__ import annotations

from datetime import date

from salesrefund.domain import money
from salesrefund.domain.commands import Context, IssueRefund, PaymentRequest, RefundLineRequest
from salesrefund.http.native_render import from_native
from salesrefund.service.idempotency import Response
from salesrefund.service.results import RefundResult, ResultLine, ResultPayment, ResultTax, native_view

EUR = money.currency("EUR")


class Recorder:
    """A responder that keeps what the service handed it."""

    def success(self, result, status, reads):
        self.result, self.status, self.customer_name = result, status, reads.customer_name(result.customer)
        return Response(status, "application/json", "{}")

    def failure(self, error):
        raise error


def _tenant(make_tenant, api_for):
    tenant = make_tenant()
    api = api_for(tenant["token"])
    assert api.post("/v1/customers", {"code": "C1", "name": "Customer One"}).status_code == 201
    assert api.post("/v1/products", {"code": "PEN", "name": "Pen", "stock_tracked": False}).status_code == 201
    r = api.post("/v1/invoices", {"number": "INV-1", "customer": "C1", "date": "2026-06-01",
                                  "lines": [{"product": "PEN", "quantity": "3", "unit_price": "1.10", "tax_rate": "15"}],
                                  "payments": [{"method": "cash", "amount": "3.80"}]})
    assert r.status_code == 201, r.text
    return tenant, api


def test_issue_answers_with_integers_at_fixed_scales(app, make_tenant, api_for):
    tenant, api = _tenant(make_tenant, api_for)
    recorder = Recorder()
    command = IssueRefund(invoice="INV-1", lines=(RefundLineRequest(line=1, quantity=3 * money.QUANTITY_SCALE),),
                          payments=(PaymentRequest("cash", 380),), reason="broken")
    app.state.refunds.issue(Context(tenant_id=tenant["id"], channel="native"), command, recorder)
    result = recorder.result
    assert isinstance(result, RefundResult) and recorder.status == 201
    assert (result.state, result.number, result.invoice, result.customer, result.currency) == (
        "posted", "CN-2026-000001", "INV-1", "C1", EUR)
    assert result.lines == (ResultLine(line=1, invoice_line=1, product="PEN", description="Pen",
                                       quantity=30_000, unit_price=11_000, tax_rate=150_000, net_minor=330,
                                       tax_minor=50, gross_minor=380, restock=False, location=None),)
    assert result.taxes == (ResultTax(tax_rate=150_000, net_minor=330, tax_minor=50),)
    assert (result.net_minor, result.tax_minor, result.gross_minor, result.rounding_minor, result.total_minor) == (
        330, 50, 380, 0, 380)
    assert result.payments == (ResultPayment("cash", 380, None),)
    assert result.posting_date == date(2026, 6, 15)
    assert recorder.customer_name == "Customer One"  # read beside the result, in its transaction

    # the native form: exact decimal strings, what the native API shows of the same refund
    view = native_view(result)
    assert (view["net"], view["tax"], view["gross"], view["total"]) == ("3.30", "0.50", "3.80", "3.80")
    assert (view["lines"][0]["quantity"], view["lines"][0]["unit_price"], view["lines"][0]["tax_rate"]) == (
        "3", "1.10", "15")
    assert api.get(f"/v1/refunds/{result.id}").json() == view
    assert from_native(view) == result


def test_the_refund_events_carry_the_native_form(app, make_tenant, api_for):
    tenant, api = _tenant(make_tenant, api_for)
    recorder = Recorder()
    command = IssueRefund(invoice="INV-1", lines=(RefundLineRequest(line=1, quantity=money.QUANTITY_SCALE),))
    app.state.refunds.issue(Context(tenant_id=tenant["id"], channel="native"), command, recorder)
    events = [e for e in api.get("/v1/events").json()["items"] if e["type"].startswith("refund.")]
    assert [e["type"] for e in events] == ["refund.created", "refund.posted"]
    assert all(e["data"] == native_view(recorder.result) for e in events)
    assert native_view(recorder.result)["gross"] == "1.27"  # 1.10 + 0.165 -> 0.17 tax
