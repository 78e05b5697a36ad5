"""The native API's answer to a refund use case: the result as JSON with exact decimal strings
(R1), one renderer among the doors' six. The form itself is ``service.results.native_view``,
which the refund events carry too (one renderer for both: the service may not import ``http``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ..domain.money import QUANTITY_PLACES, Currency
from ..service.results import RefundResult, ResultLine, ResultPayment, ResultTax, native_view


def native_body(result) -> dict:
    """A ``RefundResult`` in the native form; a payout's view (``service.payouts``) is one already."""
    return native_view(result) if isinstance(result, RefundResult) else result


def from_native(view: dict) -> RefundResult:
    """The inverse of ``native_view``: a refund as the native API showed it, back as a result.
    No door renders through this (each renders its result); it reads a native answer back, to
    check that a door's answer is the same refund as the native API's (tests/doors)."""
    places = len(view["total"].partition(".")[2])
    amount = lambda text: _units(text, places)  # noqa: E731
    return RefundResult(
        id=view["id"], kind=view["kind"], number=view["number"], state=view["state"], invoice=view["invoice"],
        customer=view["customer"], currency=Currency(view["currency"], places), reason=view["reason"],
        reference=view["reference"], unlinked=view["unlinked"], posting_date=_day(view["posting_date"]),
        document_date=_day(view["document_date"]), location=view["location"],
        lines=tuple(_line(line, amount) for line in view["lines"]),
        taxes=tuple(ResultTax(_units(x["tax_rate"], 4), amount(x["net"]), amount(x["tax"])) for x in view["taxes"]),
        net_minor=amount(view["net"]), tax_minor=amount(view["tax"]), gross_minor=amount(view["gross"]),
        rounding_minor=amount(view["rounding"]), total_minor=amount(view["total"]),
        payments=tuple(ResultPayment(p["method"], amount(p["amount"]), p["reference"]) for p in view["payments"]),
        channel=view["channel"], created_at=_moment(view["created_at"]), posted_at=_moment(view["posted_at"]),
        voided_at=_moment(view["voided_at"]), metadata=view["metadata"])


def _line(line: dict, amount) -> ResultLine:
    return ResultLine(
        line=line["line"], invoice_line=line["invoice_line"], product=line["product"],
        description=line["description"], quantity=_units(line["quantity"], QUANTITY_PLACES),
        unit_price=_units(line["unit_price"], QUANTITY_PLACES) if line["unit_price"] is not None else None,
        tax_rate=_units(line["tax_rate"], 4), net_minor=amount(line["net"]), tax_minor=amount(line["tax"]),
        gross_minor=amount(line["gross"]), restock=line["restock"], location=line["location"])


def _units(text: str, places: int) -> int:
    return int(Decimal(text).scaleb(places))


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None
